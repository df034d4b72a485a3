"""Social sign-in: OpenID Connect and OAuth 2.0 providers, their identities and account links."""
