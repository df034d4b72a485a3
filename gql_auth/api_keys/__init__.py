"""API keys: long-lived, scoped credentials for machine clients, revocable at once."""
