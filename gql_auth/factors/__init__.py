"""Second factors: the Factor seam (TOTP, recovery codes, passkeys), MFA challenges, step-up."""
