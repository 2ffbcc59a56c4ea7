"""RFC 8785 (JCS) canonical bytes, and a strict parser that accepts nothing else.

The format has no floats (FORMAT.md §1), so every value is a string, an integer
within the I-JSON range, a boolean, null, an array or an object.
"""

from __future__ import annotations

import json
import re
from typing import Any

import rfc8785

from ledger.core.errors import FormatError

# RFC 8785 §3.2.2.3 / I-JSON (RFC 7493 §2.2): integers must be exact IEEE 754 doubles.
MAX_SAFE_INTEGER = 2**53 - 1

JSONValue = Any


def check_value(value: JSONValue, path: str = "") -> None:
    """Fail unless ``value`` is a JSON value the format allows (no floats, safe integers)."""
    stack = [value]
    while stack:  # a flat walk over exact types; anything unusual gets the full check
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int and -MAX_SAFE_INTEGER <= item <= MAX_SAFE_INTEGER:
            continue
        if kind is dict and all(type(k) is str for k in item):
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        else:
            _check_value_at(value, path)
            return


def _check_value_at(value: JSONValue, path: str) -> None:
    """The same check, recursive, naming where the offending value is."""
    if value is None or isinstance(value, bool | str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise FormatError(f"{path or '/'}: integer {value} is outside ±(2^53-1)")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise FormatError(f"{path or '/'}: object key {key!r} is not a string")
            _check_value_at(item, f"{path}/{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_value_at(item, f"{path}/{i}")
        return
    raise FormatError(f"{path or '/'}: {type(value).__name__} is not allowed (no floats)")


def _fast_dumps(value: JSONValue) -> bytes:
    # Python's sorted keys agree with JCS's UTF-16 order for BMP characters; the
    # escaping rules are the same for strings. Callers fall back to rfc8785 otherwise.
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
    ).encode("utf-8")


# A 4-byte UTF-8 sequence (lead byte >= 0xF0) is a character outside the BMP, where
# code-point order and UTF-16 order may differ.
_OUTSIDE_BMP = re.compile(rb"[\xf0-\xff]")


def _needs_full_jcs(data: bytes) -> bool:
    return _OUTSIDE_BMP.search(data) is not None


def canonical(value: JSONValue) -> bytes:
    """JCS bytes of ``value`` (RFC 8785), after checking it holds no floats."""
    check_value(value)
    return canonical_unchecked(value)


def canonical_unchecked(value: JSONValue) -> bytes:
    """JCS bytes of a value already known to hold only allowed types."""
    try:
        data = _fast_dumps(value)
    except (UnicodeEncodeError, ValueError) as e:
        raise FormatError(f"cannot canonicalise: {e}") from e
    if _needs_full_jcs(data):
        try:
            return bytes(rfc8785.dumps(value))
        except Exception as e:
            raise FormatError(f"cannot canonicalise: {e}") from e
    return data


def _reject_float(text: str) -> Any:
    raise FormatError(f"number {text} is not an integer (the format has no floats)")


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > 16:  # more digits than 2^53 has
        raise FormatError(f"integer {text[:20]}... is outside ±(2^53-1)")
    number = int(text)
    if abs(number) > MAX_SAFE_INTEGER:
        raise FormatError(f"integer {text} is outside ±(2^53-1)")
    return number


def _reject_constant(text: str) -> Any:
    raise FormatError(f"{text} is not JSON")


def _unique_object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise FormatError(f"duplicate member {key!r}")
        obj[key] = value
    return obj


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_object,
    parse_float=_reject_float,
    parse_int=_parse_int,
    parse_constant=_reject_constant,
)


def parse(data: bytes) -> JSONValue:
    """Parse UTF-8 JSON strictly: no duplicate members, no floats, no NaN."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError(f"not UTF-8: {e}") from e
    try:
        return _DECODER.decode(text)
    except json.JSONDecodeError as e:
        raise FormatError(f"not JSON: {e}") from e
    except RecursionError:
        raise FormatError("JSON is nested too deeply") from None


def parse_canonical(data: bytes) -> JSONValue:
    """Parse ``data`` and fail unless it is exactly the JCS form of what it holds."""
    value = parse(data)
    if canonical_unchecked(value) != data:
        raise FormatError("bytes are not in RFC 8785 canonical form")
    return value
