"""Settings of outgoing mail: the SMTP server, the sender, and security notices."""

from __future__ import annotations

from pydantic import Field, SecretStr

from gql_auth.core.settings import CoreSettings


class MailSettings(CoreSettings):
    """Mail: the SMTP server, the sender, security notices.

    Without SMTP_HOST, mails are written to the log instead (development).
    """

    smtp_host: str | None = Field(
        default=None,
        description=(
            "The mail server for reset, verification and notice mails. Unset: mails go to "
            "the log (production logs only their subject and recipient, with a warning)."
        ),
    )
    smtp_port: int = Field(default=587, description="The mail server's port.")
    smtp_username: str | None = Field(default=None, description="SMTP login, if any.")
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password, if any.")
    smtp_starttls: bool = Field(default=True, description="Upgrade the connection with STARTTLS.")
    mail_from: str = Field(
        default="gql-auth <no-reply@localhost>", description="Sender of every mail."
    )
    security_notifications: bool = Field(
        default=True,
        description=(
            "Mail the account's verified address (one mail per event, no link) when how the "
            "account is entered changes: password, TOTP, recovery codes, passkeys, an "
            "address change asked for. `false` sends none."
        ),
    )
