"""Streaming verification of a log, entry by entry, in log order.

Per entry, :func:`check_entry` does the stateless work (canonical form, envelope,
signature) and can run on any core; :class:`LogVerifier` then applies the checks
that need history (origin, keys valid at the entry's time, gap-free chained streams).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from ledger.core.crypto import Verifiers, verify_signature, verify_with
from ledger.core.envelope import Envelope, decode_entry, leaf_hash
from ledger.core.errors import (
    ChainError,
    FormatError,
    SignatureError,
    TrustError,
    VerificationError,
)
from ledger.core.fastdecode import ENVELOPE_END, ENVELOPE_START, decode, fast_parts
from ledger.core.heads import StreamHeads
from ledger.core.trust import KEY_EVENT_TYPES, KeyRing


@dataclass(frozen=True, slots=True)
class Checked:
    """What the stateless check of one entry found."""

    entry_hash: bytes
    leaf_hash: bytes
    envelope: Envelope | None
    envelope_bytes: bytes
    sig: bytes
    problem: str | None = None
    sig_ok: bool | None = None  # None: the checker did not know the key


def check_entry(
    raw: bytes, public_keys: Mapping[str, bytes], verifiers: Verifiers | None = None
) -> Checked:
    """Parse and check one entry; verify its signature when its key is known."""
    entry_hash = hashlib.sha256(raw).digest()
    try:
        entry = decode(raw)
    except FormatError as e:
        return Checked(entry_hash, leaf_hash(raw), None, b"", b"", problem=str(e))
    key = entry.envelope.key
    verifier = (verifiers or Verifiers()).get(key, public_keys.get(key))
    sig_ok = None
    if verifier is not None:
        sig_ok = verify_with(verifier, entry.sig, entry.envelope_bytes)
    return Checked(
        entry_hash, leaf_hash(raw), entry.envelope, entry.envelope_bytes, entry.sig, None, sig_ok
    )


def check_entries(raws: list[bytes], public_keys: Mapping[str, bytes]) -> list[Checked]:
    """Check a chunk; results keep only what the ordered checks need (cheap to send back)."""
    verifiers = Verifiers()
    return [_slim(check_entry(raw, public_keys, verifiers)) for raw in raws]


def _slim(checked: Checked) -> Checked:
    env = checked.envelope
    if env is None:
        return checked
    keep_body = env.type in KEY_EVENT_TYPES
    keep_sig = checked.sig_ok is None
    if keep_body and keep_sig:
        return checked
    return Checked(
        checked.entry_hash,
        checked.leaf_hash,
        env if keep_body else env.without_body(),
        checked.envelope_bytes if keep_sig else b"",
        checked.sig if keep_sig else b"",
        checked.problem,
        checked.sig_ok,
    )


Row = tuple[Any, ...] | str
_NO_BODY: Mapping[str, Any] = MappingProxyType({})
_HASHES = 64  # entry hash and leaf hash, per entry, in check_rows' blob


def check_rows(
    raws: Iterable[bytes], public_keys: Mapping[str, bytes], verifiers: Verifiers
) -> tuple[bytes, list[Row]]:
    """Check a chunk as check_entries does, in a form cheap to send between processes.

    The answer is the entry and leaf hash of every entry, in one blob, and a row per
    entry: the problem of a malformed entry, else the envelope members in constructor
    order (the body only for key events), the signature verdict, and the signed bytes
    and signature when the key was unknown. :func:`checked_rows` turns it back.
    """
    hashes: list[bytes] = []
    rows: list[Row] = []
    names: dict[str, str] = {}  # repeated names become one object, pickled once
    name = names.setdefault
    sha256 = hashlib.sha256
    for raw in raws:
        hashes.append(sha256(raw).digest())
        hashes.append(leaf_hash(raw))
        parts = fast_parts(raw)
        if parts is not None:
            obj, sig = parts
            envelope_bytes = raw[ENVELOPE_START:ENVELOPE_END]
            members = (
                obj["ledger"],
                obj["stream"],
                obj["version"],
                obj["prev"],
                obj["type"],
                obj["time"],
                obj["actor"],
                obj["key"],
                obj["body"],
            )
        else:
            try:
                entry = decode_entry(raw)
            except FormatError as e:
                rows.append(str(e))
                continue
            env, sig, envelope_bytes = entry.envelope, entry.sig, entry.envelope_bytes
            members = env.as_tuple()[:9]
        ledger, stream, version, prev, type_, time, actor, key, body = members
        verifier = verifiers.get(key, public_keys.get(key))
        sig_ok = None if verifier is None else verify_with(verifier, sig, envelope_bytes)
        known = sig_ok is not None
        rows.append(
            (
                name(ledger, ledger),
                name(stream, stream),
                version,
                prev,
                name(type_, type_),
                time,
                name(actor, actor),
                name(key, key),
                body if type_ in KEY_EVENT_TYPES else None,
                sig_ok,
                b"" if known else envelope_bytes,
                b"" if known else sig,
            )
        )
    return b"".join(hashes), rows


def checked_rows(hashes: bytes, rows: Iterable[Row]) -> list[Checked]:
    """The Checked of each entry from check_rows' answer (bodies of other entries are empty)."""
    checked: list[Checked] = []
    at = 0
    for row in rows:
        entry_hash, leaf = hashes[at : at + 32], hashes[at + 32 : at + _HASHES]
        at += _HASHES
        if isinstance(row, str):
            checked.append(Checked(entry_hash, leaf, None, b"", b"", problem=row))
            continue
        ledger, stream, version, prev, type_, time, actor, key, body, ok, envelope, sig = row
        env = Envelope(
            ledger,
            stream,
            version,
            prev,
            type_,
            time,
            actor,
            key,
            _NO_BODY if body is None else body,
        )
        checked.append(Checked(entry_hash, leaf, env, envelope, sig, None, ok))
    return checked


@dataclass(frozen=True)
class Position:
    """Where the stored row says an entry is (checked against its envelope)."""

    stream: str
    version: int


class LogVerifier:
    """Applies entries in log order; raises VerificationError at the first bad one."""

    def __init__(self, origin: str | None = None, heads: StreamHeads | None = None) -> None:
        self.origin = origin
        self.keyring = KeyRing()
        self.heads = heads if heads is not None else StreamHeads()
        self.size = 0

    def add(self, checked: Checked, position: Position | None = None) -> Envelope:
        index = self.size
        env = checked.envelope
        if env is None:
            raise VerificationError(
                f"malformed entry: {checked.problem}",
                index=index,
                stream=None if position is None else position.stream,
            )
        if position is not None and (position.stream, position.version) != (
            env.stream,
            env.version,
        ):
            raise VerificationError(
                f"stored as {position.stream!r} version {position.version}, but the entry "
                f"says {env.stream!r} version {env.version}",
                index=index,
                stream=position.stream,
            )
        self._check_origin(index, env)
        state = self.keyring.authorise(index, env)
        self._check_signature(index, env, checked, state.public_key)
        self._check_chain(index, env)
        self.keyring.note_signed(index, env, state)
        if env.type in KEY_EVENT_TYPES:
            self.keyring.apply(index, env)
        self.heads.put(env.stream, env.version, checked.entry_hash)
        self.size += 1
        return env

    def _check_origin(self, index: int, env: Envelope) -> None:
        if self.origin is None and index == 0:
            self.origin = env.ledger
        if env.ledger != self.origin:
            raise TrustError(
                f"ledger: expected {self.origin!r}, got {env.ledger!r}",
                index=index,
                stream=env.stream,
            )

    @staticmethod
    def _check_signature(index: int, env: Envelope, checked: Checked, public_key: bytes) -> None:
        ok = checked.sig_ok
        if ok is None:
            ok = verify_signature(public_key, checked.sig, checked.envelope_bytes)
        if not ok:
            raise SignatureError(
                f"signature by key {env.key} does not verify", index=index, stream=env.stream
            )

    def _check_chain(self, index: int, env: Envelope) -> None:
        head = self.heads.get(env.stream)
        expected = 1 if head is None else head[0] + 1
        if env.version != expected:
            raise ChainError(
                f"version: expected {expected}, got {env.version} (gap or duplicate)",
                index=index,
                stream=env.stream,
            )
        expected_prev = None if head is None else head[1].hex()
        if env.prev != expected_prev:
            raise ChainError(
                f"prev: expected {expected_prev}, got {env.prev}", index=index, stream=env.stream
            )

    def close(self) -> None:
        self.heads.close()
