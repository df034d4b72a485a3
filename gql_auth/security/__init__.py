"""Primitives without policy: password hashing, tokens, signing keys, encryption, input rules."""
