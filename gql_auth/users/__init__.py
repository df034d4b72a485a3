"""Users: the user row every feature points at, and its row lock (first in the lock order)."""
