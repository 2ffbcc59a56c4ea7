"""Decoding entries quickly: the common case of a valid entry whose text lies within the
Basic Multilingual Plane, parsed by the C JSON decoder and checked by one re-encoding.

It accepts exactly the entries :func:`ledger.core.envelope.decode_entry` accepts; anything
else, and every rejection, goes to ``decode_entry``, which alone words the problems.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ledger.core.canonical import MAX_SAFE_INTEGER
from ledger.core.envelope import (
    ENVELOPE_MEMBERS,
    FORMAT_VERSION,
    SIGNATURE_SIZE,
    TIME_PATTERN,
    TYPE_PATTERN,
    Entry,
    Envelope,
    b64decode,
    decode_entry,
    is_hex_hash,
    parse_time,
)
from ledger.core.errors import FormatError


def _reject(text: str) -> Any:
    raise ValueError(text)


def _safe_int(text: str) -> int:
    if len(text) > 17:
        raise ValueError(text)
    number = int(text)
    if not -MAX_SAFE_INTEGER <= number <= MAX_SAFE_INTEGER:
        raise ValueError(text)
    return number


_DECODER = json.JSONDecoder(parse_float=_reject, parse_int=_safe_int, parse_constant=_reject)
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
)
_OUTSIDE_BMP = bytes(range(0xF0, 0x100))  # lead bytes of 4-byte UTF-8 sequences
_ENTRY_MEMBERS = frozenset({"envelope", "sig"})
ENVELOPE_START = len(b'{"envelope":')
ENVELOPE_END = -len(b',"sig":"' + b"=" * (4 * ((SIGNATURE_SIZE + 2) // 3)) + b'"}')
_HOURS: dict[str, bool] = {}  # "YYYY-MM-DDTHH" -> is a real date and hour


def _is_time(text: object) -> bool:
    """parse_time(text) would succeed: minutes and seconds below 60, a real date and hour."""
    if (
        type(text) is not str
        or not TIME_PATTERN.fullmatch(text)
        or text[14] > "5"
        or text[17] > "5"
    ):
        return False
    hour = text[:13]
    known = _HOURS.get(hour)
    if known is None:
        if len(_HOURS) >= 100_000:
            _HOURS.clear()
        try:
            parse_time(hour + ":00:00.000000Z")
            known = True
        except FormatError:
            known = False
        _HOURS[hour] = known
    return known


def _is_name(value: object) -> bool:
    return type(value) is str and value != ""


def _is_envelope(obj: Any) -> bool:
    """envelope_from_json(obj) would succeed."""
    if type(obj) is not dict or obj.keys() != ENVELOPE_MEMBERS:
        return False
    v, version, prev, type_ = obj["v"], obj["version"], obj["prev"], obj["type"]
    return (
        type(v) is int
        and v == FORMAT_VERSION
        and type(version) is int
        and version >= 1
        and (prev is None if version == 1 else is_hex_hash(prev))
        and _is_name(type_)
        and TYPE_PATTERN.fullmatch(type_) is not None
        and _is_time(obj["time"])
        and is_hex_hash(obj["key"])
        and type(obj["body"]) is dict
        and _is_name(obj["ledger"])
        and _is_name(obj["stream"])
        and _is_name(obj["actor"])
    )


def fast_parts(raw: bytes) -> tuple[dict[str, Any], bytes] | None:
    """The envelope object and signature of a valid entry, or None to leave it to decode_entry."""
    if len(raw.translate(None, _OUTSIDE_BMP)) != len(raw):
        return None  # canonical form may order members differently there (UTF-16 order)
    try:
        text = raw.decode("utf-8")
        value, end = _DECODER.raw_decode(text)
        if (
            end != len(text)
            or type(value) is not dict
            or value.keys() != _ENTRY_MEMBERS
            or _ENCODER.encode(value) != text
        ):
            return None
        envelope = value["envelope"]
        if not _is_envelope(envelope):
            return None
        sig = b64decode(value["sig"], size=SIGNATURE_SIZE)
    except (ValueError, RecursionError, FormatError):
        return None
    return envelope, sig


def _envelope(obj: Mapping[str, Any], body: Mapping[str, Any]) -> Envelope:
    return Envelope(
        obj["ledger"],
        obj["stream"],
        obj["version"],
        obj["prev"],
        obj["type"],
        obj["time"],
        obj["actor"],
        obj["key"],
        body,
        obj["v"],
    )


def decode(raw: bytes) -> Entry:
    """decode_entry(raw), faster for the common case; FormatError as decode_entry raises it."""
    parts = fast_parts(raw)
    if parts is None:
        return decode_entry(raw)
    envelope, sig = parts
    return Entry(_envelope(envelope, envelope["body"]), sig, raw, raw[ENVELOPE_START:ENVELOPE_END])
