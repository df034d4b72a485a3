"""Sign-in sessions: opening and ending them, refresh rotation, the per-request viewer read."""
