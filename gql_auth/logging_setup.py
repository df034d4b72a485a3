"""Log format for the server: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from gql_auth.config import Settings

_REQUEST_FIELDS = ("request_id", "operation", "user_id", "outcome", "status", "duration_ms")


class _ReadableFormatter(logging.Formatter):
    """Development: the message, then the request fields that are present."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = [
            f"{name}={getattr(record, name)}" for name in _REQUEST_FIELDS if hasattr(record, name)
        ]
        return f"{line} {' '.join(fields)}" if fields else line


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.is_production:
        handler.setFormatter(
            JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False)
        )
    else:
        handler.setFormatter(
            _ReadableFormatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
