"""Accounts: registration, credentials, profile edits, mailed links, administration."""
