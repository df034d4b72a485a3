"""Signing secrets: made, sealed at rest, and used to sign deliveries (Standard Webhooks)."""

from __future__ import annotations

import base64
import os
from datetime import datetime

from standardwebhooks.webhooks import Webhook

from gql_auth.core.settings import CoreSettings
from gql_auth.security.secret_box import SecretBox

_INFO = b"gql-auth webhook secret encryption v1"
_SECRET_BYTES = 32  # the specification allows 24 to 64


def new_secret() -> str:
    """`whsec_` and the standard base64 of 32 random bytes: what receivers' libraries take."""
    return "whsec_" + base64.b64encode(os.urandom(_SECRET_BYTES)).decode("ascii")


def secret_box(settings: CoreSettings) -> SecretBox:
    """Keys derived from SECRET_KEY (and SECRET_KEY_PREVIOUS during a rotation)."""
    return SecretBox.derived(settings.root_secrets(), info=_INFO)


def sealing_context(endpoint_id: int) -> str:
    return f"webhook-endpoint:{endpoint_id}"  # a sealed secret opens on its own endpoint only


def signature_header(secrets: list[str], *, event_id: str, at: datetime, body: bytes) -> str:
    """`v1,<base64>` per secret, space-separated: the new one first during a rotation."""
    return " ".join(
        Webhook(secret).sign(msg_id=event_id, timestamp=at, data=body) for secret in secrets
    )
