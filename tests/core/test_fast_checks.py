"""The quick paths of entry checking agree with the reference decoder, problem for problem.

``decode`` and ``check_rows`` skip work for the common case; whatever they accept must be
exactly what ``decode_entry`` accepts, with the same values, and every rejection must carry
``decode_entry``'s words. ``scan_lines`` and ``check_blocks`` cut a file of entries into
chunks the way iterating over its lines does.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core import fastdecode
from ledger.core.canonical import MAX_SAFE_INTEGER
from ledger.core.crypto import LocalSigner, Verifiers
from ledger.core.envelope import Envelope, decode_entry
from ledger.core.errors import FormatError
from ledger.core.fastdecode import decode
from ledger.core.note import verifier_key
from ledger.core.parallel import check_blocks, scan_lines
from ledger.core.sign import seal
from ledger.core.verify import check_entries, check_rows, checked_rows

ORIGIN = "ledger.example.org/fast-checks"
ROOT = LocalSigner.from_seed(bytes([11]) * 32)
LOG_KEY = LocalSigner.from_seed(bytes([12]) * 32)
ALICE = LocalSigner.from_seed(bytes([13]) * 32)
KEYS = {ROOT.key_id: ROOT.public_key, ALICE.key_id: ALICE.public_key}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def envelope(n: int, body: dict[str, Any], **changes: Any) -> Envelope:
    fields: dict[str, Any] = {
        "ledger": ORIGIN,
        "stream": f"case/{n}",
        "version": 1,
        "prev": None,
        "type": "ServiceRecorded",
        "time": f"2024-05-01T08:30:{n % 60:02d}.123456Z",
        "actor": "alice",
        "key": ALICE.key_id,
        "body": body,
    }
    fields.update(changes)
    return Envelope(**fields)


def build_log() -> list[bytes]:
    opened = envelope(
        0,
        {
            "origin": ORIGIN,
            "policy": "test",
            "verifier_key": verifier_key(ORIGIN, LOG_KEY.public_key),
            "root_keys": [{"key": ROOT.key_id, "public_key": b64(ROOT.public_key)}],
        },
        stream="ledger",
        type="LedgerOpened",
        actor="root",
        key=ROOT.key_id,
    )
    registered = envelope(
        1,
        {
            "subject": "alice",
            "key": ALICE.key_id,
            "public_key": b64(ALICE.public_key),
            "algorithm": "ed25519",
        },
        stream=f"key/{ALICE.key_id}",
        type="KeyRegistered",
        actor="root",
        key=ROOT.key_id,
    )
    bodies: list[dict[str, Any]] = [
        {
            "item": "管理咨询",
            "fee_fen": 120_000,
            "evidence": [{"type": "合同", "sha256": "ab" * 32}],
        },
        {"note": "naïve café \ue000", "n": -MAX_SAFE_INTEGER, "flags": [True, False, None]},
        {"\U0001f602": 1, "\ue000": 2, "text": "outside the BMP \U0001f602"},
        {"escapes": 'quote " backslash \\ tab \t newline \n nul \x00 del \x7f'},
        {},
    ]
    entries = [seal(envelope(2 + i, body), ALICE).raw for i, body in enumerate(bodies)]
    chained = envelope(2, {"x": 1}, version=2, prev=seal(envelope(2, bodies[0]), ALICE).hash_hex)
    return [seal(opened, ROOT).raw, seal(registered, ROOT).raw, *entries, seal(chained, ALICE).raw]


LOG = build_log()
SERVICE = LOG[2]


def outcome(decoder: Any, raw: bytes) -> tuple[Any, ...]:
    try:
        entry = decoder(raw)
    except FormatError as e:
        return ("rejected", str(e))
    return ("accepted", entry.envelope, entry.sig, entry.raw, entry.envelope_bytes)


def assert_agree(raw: bytes) -> None:
    assert outcome(decode, raw) == outcome(decode_entry, raw)
    assert checked_rows(*check_rows([raw], KEYS, Verifiers())) == check_entries([raw], KEYS)


def replaced(raw: bytes, old: bytes, new: bytes) -> bytes:
    assert old in raw
    return raw.replace(old, new, 1)


@pytest.mark.parametrize("raw", LOG)
def test_valid_entries_decode_alike(raw: bytes) -> None:
    assert outcome(decode, raw)[0] == "accepted"
    assert_agree(raw)


def test_only_text_outside_the_bmp_takes_the_long_way(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(raw: bytes) -> None:
        raise AssertionError("decode_entry was called")

    monkeypatch.setattr(fastdecode, "decode_entry", refuse)
    for raw in LOG:
        if "\U0001f602".encode() in raw:
            with pytest.raises(AssertionError):
                fastdecode.decode(raw)
        else:
            assert fastdecode.decode(raw).raw == raw


EDITS: dict[str, tuple[bytes, bytes]] = {
    "duplicate member": (b'"fee_fen":120000', b'"fee_fen":120000,"fee_fen":120000'),
    "space after colon": (b'"fee_fen":120000', b'"fee_fen": 120000'),
    "float": (b"120000", b"120000.5"),
    "exponent": (b"120000", b"12e4"),
    "negative zero": (b"120000", b"-0"),
    "largest safe integer": (b"120000", str(MAX_SAFE_INTEGER).encode()),
    "integer too large": (b"120000", str(MAX_SAFE_INTEGER + 1).encode()),
    "integer far too large": (b"120000", b"9" * 40),
    "integer with 5000 digits": (b"120000", b"1" * 5000),
    "NaN": (b"120000", b"NaN"),
    "Infinity": (b"120000", b"-Infinity"),
    "escaped slash": (b'"item"', b'"it\\/em"'),
    "escaped letter": (b'"item"', b'"\\u0069tem"'),
    "lone surrogate": (b'"item"', b'"\\ud800"'),
    "escaped non-BMP": ("管理咨询".encode(), b"\\ud83d\\ude02"),
    "unsorted members": (b'"evidence"', b'"zevidence"'),
    "not UTF-8": ("管理咨询".encode(), b"\xff\xfe"),
    "deep nesting": (b"120000", b"[" * 100_000 + b"]" * 100_000),
    "extra member": (b'"actor":', b'"a":1,"actor":'),
    "v 2": (b'"v":1', b'"v":2'),
    "v true": (b'"v":1', b'"v":true'),
    "version 0": (b'"version":1', b'"version":0'),
    "version string": (b'"version":1', b'"version":"1"'),
    "prev at version 1": (b'"prev":null', b'"prev":"' + b"ab" * 32 + b'"'),
    "type lowercase": (b'"type":"ServiceRecorded"', b'"type":"serviceRecorded"'),
    "type empty": (b'"type":"ServiceRecorded"', b'"type":""'),
    "type integer": (b'"type":"ServiceRecorded"', b'"type":7'),
    "time 30 February": (b'"time":"2024-05-01', b'"time":"2024-02-30'),
    "time 29 February": (b'"time":"2024-05-01', b'"time":"2024-02-29'),
    "time 29 February 2023": (b'"time":"2024-05-01', b'"time":"2023-02-29'),
    "time year 0": (b'"time":"2024-05-01', b'"time":"0000-05-01'),
    "time month 13": (b'"time":"2024-05-01', b'"time":"2024-13-01'),
    "time hour 24": (b"T08:30:", b"T24:30:"),
    "time hour 23": (b"T08:30:", b"T23:30:"),
    "time minute 60": (b"T08:30:", b"T08:60:"),
    "time minute 59": (b"T08:30:", b"T08:59:"),
    "time second 60": (b":02.123456Z", b":60.123456Z"),
    "time second 59": (b":02.123456Z", b":59.123456Z"),
    "time non-ASCII digit": (b"T08:30:", "T0\u0668:30:".encode()),
    "key uppercase": (ALICE.key_id.encode(), ALICE.key_id.upper().encode()),
    "ledger empty": (f'"ledger":"{ORIGIN}"'.encode(), b'"ledger":""'),
    "stream null": (b'"stream":"case/2"', b'"stream":null'),
    "actor integer": (b'"actor":"alice"', b'"actor":7'),
    "body list": (b'"body":{', b'"body":[{'),
    "sig short": (b'"sig":"', b'"sig":"AAAA'),
    "sig not a string": (b'"sig":"', b'"sig":["'),
    "whitespace first": (b'{"envelope"', b' {"envelope"'),
    "trailing newline": (b'=="}', b'=="}\n'),
    "trailing data": (b'=="}', b'=="}{}'),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=list(EDITS))
def test_edited_entries_decode_alike(edit: tuple[bytes, bytes]) -> None:
    assert_agree(replaced(SERVICE, *edit))


@pytest.mark.parametrize("raw", LOG)
@pytest.mark.parametrize("mask", [0x01, 0x20, 0x80])
def test_every_byte_flip_decodes_alike(raw: bytes, mask: int) -> None:
    for position in range(len(raw)):
        flipped = bytearray(raw)
        flipped[position] ^= mask
        assert outcome(decode, bytes(flipped)) == outcome(decode_entry, bytes(flipped))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_any_splice_decodes_alike(data: st.DataObject) -> None:
    raw = data.draw(st.sampled_from(LOG), label="entry")
    start = data.draw(st.integers(min_value=0, max_value=len(raw)), label="start")
    end = data.draw(st.integers(min_value=start, max_value=min(len(raw), start + 8)), label="end")
    insert = data.draw(
        st.one_of(
            st.binary(max_size=6),
            st.sampled_from([b" ", b",", b'"', b"\\", b"0", b"-", b".5", b"e3", b"{}", b"[]"]),
            st.text(max_size=3).map(lambda t: t.encode("utf-8", "surrogatepass")),
        ),
        label="insert",
    )
    assert_agree(raw[:start] + insert + raw[end:])


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet="0123456789", min_size=14, max_size=14),
    st.sampled_from(["2024-05-01T08:30:00.123456Z", "1999-12-31T23:59:59.999999Z"]),
)
def test_any_time_digits_decode_alike(digits: str, template: str) -> None:
    """Dates and hours, minutes and seconds with any digits: the same verdict."""
    it = iter(digits)
    time = "".join(next(it) if c.isdigit() and i < 19 else c for i, c in enumerate(template))
    raw = replaced(SERVICE, b'"time":"2024-05-01T08:30:02.123456Z"', f'"time":"{time}"'.encode())
    assert outcome(decode, raw) == outcome(decode_entry, raw)


def test_check_rows_without_keys_keeps_what_the_ordered_checks_need() -> None:
    raws = [*LOG, b"not json", replaced(SERVICE, b'"v":1', b'"v":2')]
    for keys in (KEYS, {}, {ROOT.key_id: ROOT.public_key}, {ALICE.key_id: ROOT.public_key}):
        assert checked_rows(*check_rows(raws, keys, Verifiers())) == check_entries(raws, keys)
    tampered = replaced(SERVICE, b'"fee_fen":120000', b'"fee_fen":120001')
    (checked,) = checked_rows(*check_rows([tampered], KEYS, Verifiers()))
    assert checked.sig_ok is False
    assert checked.envelope is not None
    assert checked.envelope.body == {}
    (opened,) = checked_rows(*check_rows(LOG[:1], KEYS, Verifiers()))
    assert opened.envelope is not None
    assert opened.envelope.body == json.loads(LOG[0])["envelope"]["body"]


CONTENTS = [
    b"",
    b"\n",
    b"\n\n",
    b"a",
    b"a\n",
    b"a\nb",
    b"a\nb\n",
    b"\na\n\nb",
    b"x" * 5000 + b"\n" + b"y" * 3 + b"\n" + b"z" * 7000,
    b"".join(raw + b"\n" for raw in LOG * 3),
    b"\n".join(LOG * 3),
]


@pytest.mark.parametrize("content", CONTENTS)
@pytest.mark.parametrize("size", [1, 2, 7, None])
def test_scan_lines_counts_and_cuts_as_iterating_does(content: bytes, size: int | None) -> None:
    layout = scan_lines(io.BytesIO(content), size)
    assert layout.lines == sum(1 for _ in io.BytesIO(content))
    chunks = [content[offset : offset + length] for offset, length in layout.sizes()]
    assert b"".join(chunks) == content
    assert all(chunk.endswith(b"\n") for chunk in chunks[:-1])
    assert all(chunks)
    expected_keys = KEYS if LOG[0] in content else {}
    assert layout.public_keys == expected_keys


def test_check_blocks_reads_file_ranges_in_workers(tmp_path: Path) -> None:
    raws = [*LOG, b"not json", *LOG[2:]] * 4
    path = tmp_path / "entries.jsonl"
    path.write_bytes(b"\n".join(raws))
    with path.open("rb") as f:
        layout = scan_lines(f, 2)
    assert layout.lines == len(raws)
    expected = check_entries(raws, KEYS)
    ranges = [(str(path), offset, length) for offset, length in layout.sizes()]
    content = path.read_bytes()
    blobs = [content[offset : offset + length] for offset, length in layout.sizes()]
    for blocks, workers in ((ranges, 2), (blobs, 2), (ranges, 1), (blobs, 1)):
        got = [c for chunk in check_blocks(blocks, layout.public_keys, workers) for c in chunk]
        assert got == expected
