"""Envelopes and entries, byte for byte as FORMAT.md §1 and §2."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ledger.core.canonical import canonical_unchecked, check_value, parse_canonical
from ledger.core.errors import FormatError

FORMAT_VERSION = 1
ENVELOPE_MEMBERS = frozenset(
    {"v", "ledger", "stream", "version", "prev", "type", "time", "actor", "key", "body"}
)
SIGNATURE_SIZE = 64  # RFC 8032 §5.1.6
_SIG_B64_LEN = 88  # standard base64 of 64 bytes, padded
_ENTRY_HEAD = b'{"envelope":'
_SIG_HEAD = b',"sig":"'
_ENTRY_TAIL = b'"}'
_HEX64 = re.compile(r"[0-9a-f]{64}")
TYPE_PATTERN = re.compile(r"[A-Z][A-Za-z0-9]*")
TIME_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")
LEAF_PREFIX = b"\x00"  # RFC 9162 §2.1.1


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with ``Z`` and exactly six fractional digits."""
    if moment.tzinfo is None:
        raise FormatError("time must be timezone-aware")
    utc = moment.astimezone(UTC)
    return utc.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_time(text: str) -> datetime:
    """Parse a format time string; fail on anything but the one allowed shape."""
    if not isinstance(text, str) or not TIME_PATTERN.fullmatch(text):
        raise FormatError(f"time {text!r} is not RFC 3339 UTC with 6 fractional digits and Z")
    try:  # the pattern fixed every position: slice the fields
        return datetime(
            int(text[0:4]),
            int(text[5:7]),
            int(text[8:10]),
            int(text[11:13]),
            int(text[14:16]),
            int(text[17:19]),
            int(text[20:26]),
            tzinfo=UTC,
        )
    except ValueError as e:
        raise FormatError(f"time {text!r} is not a valid date and time") from e


def is_hex_hash(value: object) -> bool:
    return isinstance(value, str) and _HEX64.fullmatch(value) is not None


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode(text: object, *, size: int | None = None, what: str = "value") -> bytes:
    """Strict standard base64 (padded, canonical), optionally of an exact size."""
    if not isinstance(text, str):
        raise FormatError(f"{what} must be a base64 string")
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise FormatError(f"{what} is not standard base64") from e
    if b64encode(data) != text:
        raise FormatError(f"{what} is not canonical standard base64")
    if size is not None and len(data) != size:
        raise FormatError(f"{what}: expected {size} bytes, got {len(data)}")
    return data


@dataclass(frozen=True, slots=True)
class Envelope:
    """The signed part of an entry (FORMAT.md §1)."""

    ledger: str
    stream: str
    version: int
    prev: str | None
    type: str
    time: str
    actor: str
    key: str
    body: Mapping[str, Any]
    v: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "ledger": self.ledger,
            "stream": self.stream,
            "version": self.version,
            "prev": self.prev,
            "type": self.type,
            "time": self.time,
            "actor": self.actor,
            "key": self.key,
            "body": dict(self.body),
        }

    def as_tuple(self) -> tuple[Any, ...]:
        """The members in constructor order: ``Envelope(*env.as_tuple())`` rebuilds it."""
        return (
            self.ledger,
            self.stream,
            self.version,
            self.prev,
            self.type,
            self.time,
            self.actor,
            self.key,
            self.body,
            self.v,
        )

    def without_body(self) -> Envelope:
        return Envelope(
            self.ledger,
            self.stream,
            self.version,
            self.prev,
            self.type,
            self.time,
            self.actor,
            self.key,
            {},
            self.v,
        )

    def canonical_bytes(self) -> bytes:
        """JCS bytes; only the body needs the value check, the other members are typed."""
        check_value(self.body, "/body")
        return canonical_unchecked(self.to_json())


def _require_str(obj: Mapping[str, Any], name: str) -> str:
    value = obj[name]
    if not isinstance(value, str) or not value:
        raise FormatError(f"envelope member {name!r} must be a non-empty string")
    return value


def _require_int(obj: Mapping[str, Any], name: str) -> int:
    value = obj[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise FormatError(f"envelope member {name!r} must be an integer")
    return value


def envelope_from_json(obj: Any) -> Envelope:
    """Check every member of a parsed envelope and return it typed."""
    if not isinstance(obj, dict):
        raise FormatError("envelope must be an object")
    members = set(obj)
    if members != ENVELOPE_MEMBERS:
        missing = sorted(ENVELOPE_MEMBERS - members)
        extra = sorted(members - ENVELOPE_MEMBERS)
        raise FormatError(f"envelope members: missing {missing}, unexpected {extra}")
    v = _require_int(obj, "v")
    if v != FORMAT_VERSION:
        raise FormatError(f"format version: expected {FORMAT_VERSION}, got {v}")
    version = _require_int(obj, "version")
    if version < 1:
        raise FormatError(f"version must be >= 1, got {version}")
    prev = obj["prev"]
    if version == 1 and prev is not None:
        raise FormatError("prev must be null at version 1")
    if version > 1 and not is_hex_hash(prev):
        raise FormatError(f"prev must be a lowercase hex SHA-256 at version {version}")
    type_ = _require_str(obj, "type")
    if not TYPE_PATTERN.fullmatch(type_):
        raise FormatError(f"type {type_!r} is not PascalCase")
    time = _require_str(obj, "time")
    parse_time(time)
    key = obj["key"]
    if not is_hex_hash(key):
        raise FormatError("key must be a lowercase hex SHA-256 key id")
    if not isinstance(obj["body"], dict):
        raise FormatError("body must be an object")
    return Envelope(
        ledger=_require_str(obj, "ledger"),
        stream=_require_str(obj, "stream"),
        version=version,
        prev=prev,
        type=type_,
        time=time,
        actor=_require_str(obj, "actor"),
        key=key,
        body=obj["body"],
        v=v,
    )


@dataclass(frozen=True, slots=True)
class Entry:
    """A signed envelope with its exact bytes (FORMAT.md §2)."""

    envelope: Envelope
    sig: bytes
    raw: bytes
    envelope_bytes: bytes

    @property
    def hash(self) -> bytes:
        return hashlib.sha256(self.raw).digest()

    @property
    def hash_hex(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    @property
    def leaf_hash(self) -> bytes:
        return leaf_hash(self.raw)


def leaf_hash(entry_bytes: bytes) -> bytes:
    """RFC 9162 §2.1.1 leaf hash of an entry's bytes."""
    return hashlib.sha256(LEAF_PREFIX + entry_bytes).digest()


def assemble_entry(envelope_bytes: bytes, sig: bytes) -> bytes:
    """JCS bytes of ``{"envelope": E, "sig": S}`` from already canonical envelope bytes.

    Members sort as ``envelope`` < ``sig``, and JCS of an object whose members are
    already canonical is their concatenation, so no re-serialisation is needed.
    """
    if len(sig) != SIGNATURE_SIZE:
        raise FormatError(f"signature: expected {SIGNATURE_SIZE} bytes, got {len(sig)}")
    return _ENTRY_HEAD + envelope_bytes + _SIG_HEAD + b64encode(sig).encode() + _ENTRY_TAIL


def decode_entry(raw: bytes) -> Entry:
    """Parse entry bytes strictly: canonical JCS, exact members, well-formed envelope."""
    obj = parse_canonical(raw)
    if not isinstance(obj, dict) or set(obj) != {"envelope", "sig"}:
        raise FormatError('entry must be an object with exactly "envelope" and "sig"')
    envelope = envelope_from_json(obj["envelope"])
    sig = b64decode(obj["sig"], size=SIGNATURE_SIZE, what="sig")
    envelope_bytes = raw[len(_ENTRY_HEAD) : -(len(_SIG_HEAD) + _SIG_B64_LEN + len(_ENTRY_TAIL))]
    return Entry(envelope=envelope, sig=sig, raw=raw, envelope_bytes=envelope_bytes)
