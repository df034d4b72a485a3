"""Security events: what happened to an account, when and from where."""
