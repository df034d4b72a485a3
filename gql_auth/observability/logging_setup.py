"""Log format for the server: JSON lines in production, readable lines in development."""

from __future__ import annotations

import logging
import re
import sys

from pythonjsonlogger.json import JsonFormatter

from gql_auth.observability.settings import ObservabilitySettings

_REQUEST_FIELDS = ("request_id", "operation", "user_id", "outcome", "status", "duration_ms")


# What could end a line or rewrite a terminal: C0, DEL, C1 (NEL among them), U+2028/U+2029.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _SHORT.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


class _ReadableFormatter(logging.Formatter):
    """Development: one line per record (the message, then the request fields present).

    Messages and fields carry client text (a path with %0A, a driver's error):
    control characters are escaped so no client can write a line of its own.
    Only a traceback, appended by logging after this, spans lines.
    """

    def formatMessage(self, record: logging.LogRecord) -> str:
        fields = [
            f"{name}={getattr(record, name)}" for name in _REQUEST_FIELDS if hasattr(record, name)
        ]
        return _CONTROL.sub(_escape, " ".join([super().formatMessage(record), *fields]))


def configure_logging(settings: ObservabilitySettings) -> None:
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
