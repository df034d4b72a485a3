"""Client-written JSON, nesting bounded by a flat scan first: json.loads recurses per level."""

from __future__ import annotations

import json
import re
from typing import Any

# Far above any credential, GraphQL variables or manifest; far below the recursion limit.
MAX_DEPTH = 64

# A whole JSON string (escapes included) or one bracket: the tokens that decide the depth.
# A string left open runs to the end, and nothing backtracks: linear in the text.
_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)|[\[\]{}]', re.DOTALL)


class TooDeep(json.JSONDecodeError):
    """Nesting past the bound; a JSONDecodeError, so callers that refuse bad JSON refuse it too."""


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """json.loads(text), or TooDeep before it recurses past `max_depth` open arrays or objects."""
    if text.count("[") + text.count("{") <= max_depth:  # the common case: nothing to scan
        return json.loads(text)
    depth = 0
    for token in _TOKEN.finditer(text):
        bracket = token.group()
        if bracket in ("[", "{"):
            depth += 1
            if depth > max_depth:
                raise TooDeep(f"nested too deeply (over {max_depth} levels)", text, token.start())
        elif bracket in ("]", "}"):
            depth = max(depth - 1, 0)  # a stray closer is json.loads's error to report
    return json.loads(text)
