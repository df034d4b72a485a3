"""Error messages with the client's input values left out: graphql-core echoes them."""

from __future__ import annotations

import re

# graphql-core describes a value that does not fit its type by printing the value, which
# may be a whole input with its password. Messages are rebuilt from these templates, so
# only the variable, the path and names from the schema survive.
_TYPE = r"'(?P<type>[_A-Za-z][_0-9A-Za-z]*[!\[\]]*|\[[_0-9A-Za-z!\[\]]+)'"
_FIELD = r"'(?P<field>[_A-Za-z][_0-9A-Za-z]{0,63})'"
_VALUE_MESSAGES = [
    (
        rf"Expected a value of non-null type {_TYPE} to be provided",
        "Expected a value of non-null type '{type}' to be provided.",
    ),
    (
        rf"Expected value of non-null type {_TYPE} not to be None",
        "Expected value of non-null type '{type}' not to be None.",
    ),
    (
        rf"Expected value of type {_TYPE} to include required field {_FIELD}",
        "Expected value of type '{type}' to include required field '{field}'.",
    ),
    (
        rf"Expected value of type {_TYPE} not to include unknown field {_FIELD}",
        "Expected value of type '{type}' not to include unknown field '{field}'.",
    ),
    (
        rf"Expected value of type {_TYPE} not to include unknown field",
        "Expected value of type '{type}' not to include unknown fields.",
    ),
    (
        rf"Expected value of type {_TYPE} to be an object",
        "Expected value of type '{type}' to be an object.",
    ),
    (rf"Expected value of type {_TYPE}", "Expected value of type '{type}'."),
    (
        r"(?P<type>(?:Enum|Scalar) '\w+'|\w+) cannot represent",
        "{type} cannot represent the value given.",
    ),
    (
        r"Value .* does not exist in '(?P<type>\w+)' enum",
        "The value given does not exist in '{type}' enum.",
    ),
]
_VALUE_PATTERNS = [
    (re.compile(pattern, re.DOTALL), template) for pattern, template in _VALUE_MESSAGES
]
_VARIABLE = re.compile(
    r"Variable '\$(?P<name>\w+)' (?:has invalid (?P<default>default )?value"
    r"(?P<path> at (?:\.\w+|\[\d+\])+)?: (?P<detail>.*)|got invalid value.*)",
    re.DOTALL,
)


def without_values(message: str) -> str:
    """The message with any echoed input value left out: variable, path and type stay."""
    variable = _VARIABLE.fullmatch(message)
    if variable is not None:
        name, path = variable["name"], variable["path"] or ""
        described = f"Variable '${name}' has invalid {variable['default'] or ''}value{path}"
        detail = _value_free(variable["detail"] or "")
        return f"{described}: {detail}" if detail else f"{described}."
    return _value_free(message) or message


def _value_free(detail: str) -> str | None:
    for pattern, template in _VALUE_PATTERNS:
        found = pattern.match(detail)
        if found is not None:
            return template.format(**found.groupdict())
    return None
