"""Envelopes, sealing and entry bytes (FORMAT.md §1, §2)."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.canonical import MAX_SAFE_INTEGER, canonical
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import (
    ENVELOPE_MEMBERS,
    Envelope,
    assemble_entry,
    decode_entry,
    envelope_from_json,
    format_time,
    parse_time,
)
from ledger.core.errors import FormatError, VerificationError
from ledger.core.note import verifier_key
from ledger.core.sign import seal
from ledger.core.verify import LogVerifier, check_entry

ORIGIN = "ledger.example.org/entries-test"
ROOT = LocalSigner.from_seed(bytes(range(32)))
LOG_KEY = LocalSigner.from_seed(bytes(range(32, 64)))
ALICE = LocalSigner.from_seed(bytes(range(64, 96)))
TIME = "2024-05-01T08:30:00.123456Z"
BODY: dict[str, Any] = {
    "amount_fen": 123_456,
    "note": "服务记录 — naïve café \U0001f602 \ue000",
    "flags": [True, False, None],
    "nested": {"b": [1, -2, {"c": ""}], "a": MAX_SAFE_INTEGER},
    "contact": {"$pi": "ab" * 32},
}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def make_envelope(**changes: Any) -> Envelope:
    base = Envelope(
        ledger=ORIGIN,
        stream="case/42",
        version=1,
        prev=None,
        type="ServiceRecorded",
        time=TIME,
        actor="alice",
        key=ALICE.key_id,
        body=BODY,
    )
    return dataclasses.replace(base, **changes)


def check_sealed(env: Envelope, signer: LocalSigner) -> None:
    entry = seal(env, signer)
    sig_b64 = b64(entry.sig)
    expected = rfc8785.dumps({"envelope": env.to_json(), "sig": sig_b64})
    assert entry.raw == expected
    assert entry.envelope_bytes == rfc8785.dumps(env.to_json())
    assert entry.hash == hashlib.sha256(expected).digest()
    assert entry.hash_hex == hashlib.sha256(expected).hexdigest()
    assert entry.leaf_hash == hashlib.sha256(b"\x00" + expected).digest()
    # Independent check of the signature over JCS(envelope).
    public = Ed25519PublicKey.from_public_bytes(signer.public_key)
    public.verify(entry.sig, rfc8785.dumps(env.to_json()))
    assert len(entry.sig) == 64
    decoded = decode_entry(entry.raw)
    assert decoded.envelope == env
    assert decoded.envelope.to_json() == env.to_json()
    assert decoded.sig == entry.sig
    assert decoded.raw == entry.raw
    assert decoded.envelope_bytes == entry.envelope_bytes
    assert decoded.hash == entry.hash
    assert decoded.leaf_hash == entry.leaf_hash
    checked = check_entry(entry.raw, {signer.key_id: signer.public_key})
    assert checked.problem is None
    assert checked.sig_ok is True
    assert checked.envelope == env
    assert checked.entry_hash == entry.hash
    assert checked.leaf_hash == entry.leaf_hash


def test_sealed_entry_bytes() -> None:
    check_sealed(make_envelope(), ALICE)
    check_sealed(make_envelope(version=7, prev="0f" * 32, body={}), ALICE)


def test_key_id_is_sha256_of_raw_public_key() -> None:
    assert ALICE.key_id == hashlib.sha256(ALICE.public_key).hexdigest()
    assert len(ALICE.public_key) == 32


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-MAX_SAFE_INTEGER, max_value=MAX_SAFE_INTEGER),
    st.text(max_size=10),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda c: st.one_of(
        st.lists(c, max_size=4), st.dictionaries(st.text(max_size=6), c, max_size=4)
    ),
    max_leaves=15,
)


@settings(max_examples=100, deadline=None)
@given(
    body=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    version=st.integers(min_value=1, max_value=MAX_SAFE_INTEGER),
    stream=st.text(min_size=1, max_size=20),
    actor=st.text(min_size=1, max_size=20),
    micros=st.integers(min_value=0, max_value=10**15),
    prev=st.binary(min_size=32, max_size=32),
)
def test_sealed_entry_bytes_property(
    body: dict[str, Any], version: int, stream: str, actor: str, micros: int, prev: bytes
) -> None:
    moment = datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)
    env = make_envelope(
        body=body,
        version=version,
        prev=None if version == 1 else prev.hex(),
        stream=stream,
        actor=actor,
        time=format_time(moment),
    )
    check_sealed(env, ALICE)


def test_seal_refuses_a_signer_that_is_not_the_envelope_key() -> None:
    with pytest.raises(FormatError):
        seal(make_envelope(), ROOT)


@pytest.mark.parametrize("size", [0, 63, 65])
def test_assemble_entry_requires_64_byte_signature(size: int) -> None:
    with pytest.raises(FormatError):
        assemble_entry(make_envelope().canonical_bytes(), bytes(size))


def test_envelope_refuses_floats() -> None:
    with pytest.raises(FormatError):
        make_envelope(body={"rate": 0.5}).canonical_bytes()


def test_time_format() -> None:
    moment = datetime(2024, 5, 1, 16, 30, 0, 123456, tzinfo=timezone(timedelta(hours=8)))
    assert format_time(moment) == TIME
    assert parse_time(TIME) == moment
    assert format_time(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000000Z"
    with pytest.raises(FormatError):
        format_time(datetime(2024, 1, 1))  # naive


# --- tampering -----------------------------------------------------------------------------


def build_log() -> list[bytes]:
    """A valid three-entry log: opening, alice's key, one entry by alice."""
    opened = Envelope(
        ledger=ORIGIN,
        stream="ledger",
        version=1,
        prev=None,
        type="LedgerOpened",
        time="2024-05-01T00:00:00.000000Z",
        actor="root",
        key=ROOT.key_id,
        body={
            "origin": ORIGIN,
            "policy": "test",
            "verifier_key": verifier_key(ORIGIN, LOG_KEY.public_key),
            "root_keys": [{"key": ROOT.key_id, "public_key": b64(ROOT.public_key)}],
        },
    )
    registered = Envelope(
        ledger=ORIGIN,
        stream=f"key/{ALICE.key_id}",
        version=1,
        prev=None,
        type="KeyRegistered",
        time="2024-05-01T00:00:01.000000Z",
        actor="root",
        key=ROOT.key_id,
        body={
            "subject": "alice",
            "key": ALICE.key_id,
            "public_key": b64(ALICE.public_key),
            "algorithm": "ed25519",
        },
    )
    return [seal(opened, ROOT).raw, seal(registered, ROOT).raw, seal(make_envelope(), ALICE).raw]


LOG = build_log()
KEYS = {ROOT.key_id: ROOT.public_key, ALICE.key_id: ALICE.public_key}


def verify_log(raws: list[bytes], keys: dict[str, bytes]) -> None:
    verifier = LogVerifier()
    for raw in raws:
        verifier.add(check_entry(raw, keys))


def test_untampered_log_verifies() -> None:
    verify_log(LOG, KEYS)
    verify_log(LOG, {})


def assert_rejected(position: int, mask: int) -> None:
    raw = bytearray(LOG[2])
    raw[position] ^= mask
    tampered = bytes(raw)
    keys = {ALICE.key_id: ALICE.public_key}
    checked = check_entry(tampered, keys)
    assert checked.sig_ok is not True
    if checked.envelope is None:
        assert checked.problem
    else:
        # Either the signature fails, or the key id itself was altered into one not known.
        assert checked.sig_ok is False or checked.envelope.key not in keys
    for pubkeys in (KEYS, {}):
        with pytest.raises(VerificationError) as info:
            verify_log([*LOG[:2], tampered], pubkeys)
        assert info.value.index == 2


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_single_byte_flip_is_detected(data: st.DataObject) -> None:
    position = data.draw(st.integers(min_value=0, max_value=len(LOG[2]) - 1), label="position")
    mask = data.draw(st.integers(min_value=1, max_value=255), label="mask")
    assert_rejected(position, mask)


@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_every_position_flip_is_detected(mask: int) -> None:
    for position in range(len(LOG[2])):
        assert_rejected(position, mask)


# --- envelope validation -------------------------------------------------------------------

VALID = make_envelope(version=2, prev="cd" * 32).to_json()

BAD_CHANGES: dict[str, dict[str, Any]] = {
    "extra member": {"extra": 1},
    "v 2": {"v": 2},
    "v 0": {"v": 0},
    "v string": {"v": "1"},
    "v bool": {"v": True},
    "version 0": {"version": 0},
    "version negative": {"version": -1},
    "version bool": {"version": True, "prev": None},
    "version string": {"version": "2"},
    "version null": {"version": None},
    "prev non-null at version 1": {"version": 1},
    "prev null at version 2": {"prev": None},
    "prev uppercase": {"prev": "CD" * 32},
    "prev short": {"prev": "cd" * 31},
    "prev bytes-like": {"prev": ["cd"]},
    "time without Z": {"time": "2024-05-01T08:30:00.123456"},
    "time 3 fractional digits": {"time": "2024-05-01T08:30:00.123Z"},
    "time 7 fractional digits": {"time": "2024-05-01T08:30:00.1234567Z"},
    "time no fraction": {"time": "2024-05-01T08:30:00Z"},
    "time offset": {"time": "2024-05-01T08:30:00.123456+08:00"},
    "time offset zero": {"time": "2024-05-01T08:30:00.123456+00:00"},
    "time lowercase z": {"time": "2024-05-01T08:30:00.123456z"},
    "time space separator": {"time": "2024-05-01 08:30:00.123456Z"},
    "time invalid date": {"time": "2024-02-30T08:30:00.123456Z"},
    "time invalid hour": {"time": "2024-05-01T24:30:00.123456Z"},
    "time trailing newline": {"time": "2024-05-01T08:30:00.123456Z\n"},
    "time integer": {"time": 1714552200},
    "type camelCase": {"type": "serviceRecorded"},
    "type snake_case": {"type": "service_recorded"},
    "type underscore": {"type": "Service_Recorded"},
    "type space": {"type": "Service Recorded"},
    "type empty": {"type": ""},
    "type digit first": {"type": "1Recorded"},
    "key uppercase": {"key": ALICE.key_id.upper()},
    "key 63 hex": {"key": ALICE.key_id[:63]},
    "key 65 hex": {"key": ALICE.key_id + "0"},
    "key not hex": {"key": "g" * 64},
    "key null": {"key": None},
    "body list": {"body": []},
    "body string": {"body": "{}"},
    "body null": {"body": None},
    "ledger empty": {"ledger": ""},
    "stream empty": {"stream": ""},
    "actor empty": {"actor": ""},
    "actor integer": {"actor": 7},
}


def reject_everywhere(obj: dict[str, Any]) -> None:
    with pytest.raises(FormatError):
        envelope_from_json(obj)
    raw = assemble_entry(canonical(obj), bytes(64))
    with pytest.raises(FormatError):
        decode_entry(raw)
    checked = check_entry(raw, KEYS)
    assert checked.envelope is None
    assert checked.problem


def test_valid_envelope_is_accepted() -> None:
    env = envelope_from_json(dict(VALID))
    assert env.to_json() == VALID
    assert decode_entry(assemble_entry(canonical(VALID), bytes(64))).envelope == env


@pytest.mark.parametrize("changes", list(BAD_CHANGES.values()), ids=list(BAD_CHANGES))
def test_bad_envelope_is_rejected(changes: dict[str, Any]) -> None:
    reject_everywhere({**VALID, **changes})


@pytest.mark.parametrize("member", sorted(ENVELOPE_MEMBERS))
def test_missing_member_is_rejected(member: str) -> None:
    obj = dict(VALID)
    del obj[member]
    reject_everywhere(obj)


@pytest.mark.parametrize(
    "text",
    [
        "\u0662\u0660\u0662\u0664-05-01T08:30:00.123456Z",  # Arabic-Indic year
        "\u0968\u0966\u0968\u096a-05-01T08:30:00.123456Z",  # Devanagari year
        "2024-05-01T0\u0668:30:00.123456Z",  # Arabic-Indic digit in the hour
    ],
)
def test_time_with_non_ascii_digits_is_rejected(text: str) -> None:
    with pytest.raises(FormatError):
        parse_time(text)


@pytest.mark.parametrize("payload", [b"1" * 5000, b"[" * 100_000 + b"]" * 100_000])
def test_check_entry_reports_hostile_json(payload: bytes) -> None:
    raw = b'{"envelope":{"body":' + payload + b'},"sig":""}'
    checked = check_entry(raw, KEYS)
    assert checked.envelope is None
    assert checked.problem


def test_entry_sig_checks() -> None:
    entry = seal(make_envelope(), ALICE)
    env_json = make_envelope().to_json()
    good = b64(entry.sig)
    assert good.endswith("==")
    # The character before "==" carries 4 unused bits: set one to get a non-canonical form.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    noncanonical = good[:-3] + alphabet[alphabet.index(good[-3]) | 1] + "=="
    assert base64.b64decode(noncanonical) == entry.sig
    bad_sigs: list[Any] = [
        b64(entry.sig[:63]),
        b64(entry.sig + b"\x00"),
        "",
        good.rstrip("="),
        noncanonical,
        good.replace("+", "-").replace("/", "_")
        if ("+" in good or "/" in good)
        else "-" + good[1:],
        good[:40] + "\n" + good[40:],
        good[:-2] + "A=",
        None,
        12,
        [good],
    ]
    assert decode_entry(rfc8785.dumps({"envelope": env_json, "sig": good})).sig == entry.sig
    for sig in bad_sigs:
        raw = rfc8785.dumps({"envelope": env_json, "sig": sig})
        with pytest.raises(FormatError):
            decode_entry(raw)
        assert check_entry(raw, KEYS).envelope is None


@pytest.mark.parametrize(
    "obj_or_bytes",
    [
        {"envelope": VALID},
        {"sig": "A" * 86 + "=="},
        {"envelope": VALID, "sig": "A" * 86 + "==", "extra": 1},
        [VALID, "A" * 86 + "=="],
        b'{"sig":"' + b"A" * 86 + b'==","envelope":' + canonical(VALID) + b"}",
        b'{"envelope": ' + canonical(VALID) + b',"sig":"' + b"A" * 86 + b'=="}',
        assemble_entry(canonical(VALID), bytes(64)) + b"\n",
    ],
)
def test_malformed_entry_is_rejected(obj_or_bytes: Any) -> None:
    raw = obj_or_bytes if isinstance(obj_or_bytes, bytes) else canonical(obj_or_bytes)
    with pytest.raises(FormatError):
        decode_entry(raw)
