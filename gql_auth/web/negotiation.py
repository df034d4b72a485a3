"""Which media type /graphql answers in, from the request's Accept header (RFC 9110 12.5.1).

GraphQL over HTTP: `application/graphql-response+json` lets a client trust
non-200 statuses (a request error is 4xx); `application/json` keeps the
legacy "always 200" answers Apollo-era clients expect. No Accept, `*/*` or
a tie answers application/json, so existing clients see no change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"
_SUPPORTED = (JSON, GRAPHQL_RESPONSE)  # in this order of preference on a tie


def negotiate(accept: str | None) -> str | None:
    """The media type to answer in; None when the client accepts neither (406)."""
    ranges = list(_media_ranges(accept or ""))
    if not ranges:
        return JSON  # no usable header: as if none was sent
    best: str | None = None
    best_rank: tuple[float, int, int] | None = None
    for supported in _SUPPORTED:
        rank = _rank(supported, ranges)
        if rank is not None and rank[0] > 0 and (best_rank is None or rank > best_rank):
            best, best_rank = supported, rank
    return best


def content_type(media_type: str) -> bytes:
    """The Content-Type header's value; both our media types are UTF-8 JSON."""
    return media_type.encode() if media_type == JSON else f"{media_type}; charset=utf-8".encode()


def request_error_status(response: Mapping[str, Any]) -> int:
    """graphql-response+json's status for an answer without `data` (nothing ran).

    400 for the client's request (unparsable, invalid, refused before
    execution); 500 when what stopped it was an outage of ours.
    """
    codes = {(error.get("extensions") or {}).get("code") for error in response.get("errors", [])}
    return 500 if "INTERNAL_SERVER_ERROR" in codes else 400


def _rank(media_type: str, ranges: list[tuple[str, str, float]]) -> tuple[float, int, int] | None:
    """(q, specificity, -position) of the most specific range that matches, or None."""
    kind, subtype = media_type.split("/")
    found: tuple[float, int, int] | None = None
    for position, (range_kind, range_subtype, quality) in enumerate(ranges):
        if (range_kind, range_subtype) == (kind, subtype):
            specificity = 2
        elif (range_kind, range_subtype) == (kind, "*"):
            specificity = 1
        elif (range_kind, range_subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        if found is None or specificity > found[1]:
            found = (quality, specificity, -position)
    return found


def _media_ranges(accept: str) -> list[tuple[str, str, float]]:
    """(type, subtype, q) of each well-formed range; malformed ones are skipped."""
    ranges = []
    for item in accept.split(","):
        media_range, *parameters = (part.strip() for part in item.split(";"))
        kind, slash, subtype = media_range.lower().partition("/")
        if not slash or not kind or not subtype:
            continue
        quality = _quality(parameters)
        if quality is not None:
            ranges.append((kind, subtype, quality))
    return ranges


def _quality(parameters: list[str]) -> float | None:
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return None
            return quality if 0 <= quality <= 1 else None
    return 1.0
