"""Passkeys (WebAuthn): registration, sign-in and their challenges."""
