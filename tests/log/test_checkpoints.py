"""Checkpoints (FORMAT.md §5): C2SP tlog-checkpoint bodies in signed notes, and
tlog-cosignature v1 lines added by witnesses.

The cosignature checks rebuild the signed message and the signature line's bytes
independently, from the spec text in shared/vectors/README.md, and verify with
``cryptography`` directly rather than through the project's own helpers.
"""

from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.checkpoint import (
    COSIGNATURE_TYPE,
    Checkpoint,
    cosignature_key_id,
    cosignature_line,
    cosigned_message,
    cosigner_vkey,
    open_checkpoint,
    verify_cosignature,
)
from ledger.core.crypto import LocalSigner
from ledger.core.errors import FormatError, SignatureError, VerificationError
from ledger.core.merkle import EMPTY_ROOT, hash_leaf
from ledger.core.note import (
    SIGNATURE_PREFIX,
    NoteVerifier,
    note_key_id,
    sign_note,
    split_note,
    verifier_key,
    verify_note,
)

ORIGIN = "ledger.example.org/hunan-sme"
LOG = LocalSigner.from_seed(bytes(range(32)))
OTHER = LocalSigner.from_seed(bytes(range(100, 132)))
WITNESS = LocalSigner.from_seed(bytes(range(50, 82)))
WITNESS_NAME = "witness.example.gov.cn/audit"
ROOT = hash_leaf(b"checkpoint test root")
CHECKPOINT = Checkpoint(ORIGIN, 43, ROOT)
VKEY = verifier_key(ORIGIN, LOG.public_key)
REJECTED = (FormatError, VerificationError)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def signed(checkpoint: Checkpoint = CHECKPOINT, signer: LocalSigner = LOG) -> str:
    return sign_note(checkpoint.text(), checkpoint.origin, signer)


# -- the body --------------------------------------------------------------------------------


def test_text_is_exactly_origin_size_root() -> None:
    assert CHECKPOINT.text() == f"{ORIGIN}\n43\n{b64(ROOT)}\n"
    assert Checkpoint(ORIGIN, 0, EMPTY_ROOT).text() == (
        f"{ORIGIN}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )
    big = Checkpoint(ORIGIN, 2**63 - 1, ROOT)
    assert big.text().split("\n")[1] == "9223372036854775807"
    assert Checkpoint.parse(big.text()) == big


@settings(max_examples=50, deadline=None, database=None)
@given(
    size=st.integers(0, 2**64),
    root=st.binary(min_size=32, max_size=32),
    origin=st.from_regex(r"[a-z0-9.\-/]{1,40}", fullmatch=True),
)
def test_text_parse_round_trip(size: int, root: bytes, origin: str) -> None:
    checkpoint = Checkpoint(origin, size, root)
    text = checkpoint.text()
    assert text.count("\n") == 3
    assert Checkpoint.parse(text) == checkpoint


def _body(origin: str = ORIGIN, size: str = "43", root: str = b64(ROOT)) -> str:
    return f"{origin}\n{size}\n{root}\n"


@pytest.mark.parametrize(
    "text",
    [
        _body() + "extension line\n",
        _body() + "\n",
        _body() + "— other\n",
        _body()[:-1],  # no final newline
        f"{ORIGIN}\n43\n",  # no root line
        "",
        "\n",
    ],
    ids=[
        "extension",
        "blank-extension",
        "dash-extension",
        "no-newline",
        "two-lines",
        "empty",
        "nl",
    ],
)
def test_parse_rejects_wrong_line_structure(text: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(text)


@pytest.mark.parametrize(
    "size",
    [
        "01",
        "00",
        "007",
        "-1",
        "-0",
        "+1",
        "0x10",
        "1e3",
        "1.0",
        " 1",
        "1 ",
        "",
        "\u0663",
        "\uff11",
        "a",
    ],
)
def test_parse_rejects_bad_sizes(size: str) -> None:
    with pytest.raises(FormatError, match="tree size"):
        Checkpoint.parse(_body(size=size))


@pytest.mark.parametrize(
    "root",
    [
        b64(ROOT)[:-1],  # padding missing
        b64(ROOT).rstrip("="),
        b64(ROOT[:31]),  # 31 bytes
        b64(ROOT + b"\x00"),  # 33 bytes
        b64(ROOT).replace("=", "A="),  # 33 bytes / non-canonical
        b64(ROOT)[:-2] + "B=",  # non-canonical trailing bits
        base64.urlsafe_b64encode(b"\xfb\xff" * 16).decode(),  # URL-safe alphabet
        b64(ROOT)[:20] + " " + b64(ROOT)[21:],
        ROOT.hex(),  # hex, not base64
        "",
    ],
    ids=[
        "no-pad",
        "stripped-pad",
        "31-bytes",
        "33-bytes",
        "extra-char",
        "noncanonical-bits",
        "urlsafe",
        "space",
        "hex",
        "empty",
    ],
)
def test_parse_rejects_bad_roots(root: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(_body(root=root))


@pytest.mark.parametrize("origin", ["", "has space", "a+b", " leading"])
def test_parse_rejects_bad_origins(origin: str) -> None:
    with pytest.raises(FormatError):
        Checkpoint.parse(_body(origin=origin))


# -- the signed note ------------------------------------------------------------------------------


def test_signed_checkpoint_verifies_with_the_log_vkey() -> None:
    note = signed()
    body, sigs = split_note(note)
    assert body == CHECKPOINT.text()
    assert note.startswith(CHECKPOINT.text() + "\n" + SIGNATURE_PREFIX + ORIGIN + " ")
    ((name, blob),) = sigs
    assert name == ORIGIN
    assert blob[:4] == note_key_id(ORIGIN, 0x01, LOG.public_key)
    assert len(blob) == 4 + 64
    # verify the signature independently: Ed25519 over the body bytes
    Ed25519PublicKey.from_public_bytes(LOG.public_key).verify(blob[4:], body.encode())
    assert open_checkpoint(note, NoteVerifier.parse(VKEY)) == CHECKPOINT


def test_every_changed_byte_of_the_body_fails() -> None:
    note = signed()
    verifier = NoteVerifier.parse(VKEY)
    data = note.encode()
    body_len = len(CHECKPOINT.text().encode())
    tried = 0
    for position in range(body_len):
        for mask in (0x01, 0x02, 0x04, 0x10, 0x20, 0x40, 0x80):
            tampered = bytearray(data)
            tampered[position] ^= mask
            try:
                text = bytes(tampered).decode("utf-8")
            except UnicodeDecodeError:
                continue  # not even text
            tried += 1
            with pytest.raises(REJECTED):
                open_checkpoint(text, verifier)
    assert tried > 5 * body_len


def test_checkpoint_by_another_key_fails() -> None:
    verifier = NoteVerifier.parse(VKEY)
    with pytest.raises(SignatureError, match="no signature"):
        open_checkpoint(signed(signer=OTHER), verifier)
    # same key id, other signature bytes: a forged line claiming to be the log's
    forged_blob = note_key_id(ORIGIN, 0x01, LOG.public_key) + OTHER.sign(CHECKPOINT.text().encode())
    forged = f"{CHECKPOINT.text()}\n{SIGNATURE_PREFIX}{ORIGIN} {b64(forged_blob)}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        open_checkpoint(forged, verifier)


def test_checkpoint_origin_must_be_the_key_name() -> None:
    other_origin = Checkpoint("ledger.example.org/other", 43, ROOT)
    # signed by the log key but under the log's name, for another origin's body
    note = sign_note(other_origin.text(), ORIGIN, LOG)
    assert verify_note(note, NoteVerifier.parse(VKEY)) == other_origin.text()
    with pytest.raises(SignatureError, match="is not the key name"):
        open_checkpoint(note, NoteVerifier.parse(VKEY))


def test_signed_note_with_extension_line_is_refused() -> None:
    text = CHECKPOINT.text() + "extension\n"
    note = sign_note(text, ORIGIN, LOG)
    with pytest.raises(FormatError, match="expected 3 lines"):
        open_checkpoint(note, NoteVerifier.parse(VKEY))


# -- tlog-cosignature/v1 ----------------------------------------------------------------------


def _line_blob(line: str, name: str) -> bytes:
    assert line.startswith(SIGNATURE_PREFIX + name + " ")
    assert line.endswith("\n")
    assert line.count("\n") == 1
    return base64.b64decode(line[len(SIGNATURE_PREFIX) + len(name) + 1 : -1], validate=True)


@pytest.mark.parametrize("timestamp", [0, 1, 1_764_000_000, 2**63 - 1, 2**64 - 1])
def test_cosignature_layout_matches_the_spec(timestamp: int) -> None:
    body = CHECKPOINT.text()
    line = cosignature_line(WITNESS_NAME, WITNESS, body, timestamp)
    blob = _line_blob(line, WITNESS_NAME)
    assert len(blob) == 4 + 8 + 64

    # key id: SHA-256(name || "\n" || 0x04 || public key), first four bytes
    expected_id = hashlib.sha256(
        WITNESS_NAME.encode() + b"\n" + b"\x04" + WITNESS.public_key
    ).digest()[:4]
    assert blob[:4] == expected_id == cosignature_key_id(WITNESS_NAME, WITNESS.public_key)
    assert blob[:4] != note_key_id(WITNESS_NAME, 0x01, WITNESS.public_key)  # not the 0x01 id
    assert blob[4:12] == timestamp.to_bytes(8, "big")

    message = b"cosignature/v1\ntime " + str(timestamp).encode() + b"\n" + body.encode()
    assert cosigned_message(body, timestamp) == message
    Ed25519PublicKey.from_public_bytes(WITNESS.public_key).verify(blob[12:], message)
    with pytest.raises(InvalidSignature):  # not a plain signed-note signature of the body
        Ed25519PublicKey.from_public_bytes(WITNESS.public_key).verify(blob[12:], body.encode())

    note = signed() + line
    assert verify_cosignature(note, WITNESS_NAME, WITNESS.public_key) == timestamp
    assert open_checkpoint(note, NoteVerifier.parse(VKEY)) == CHECKPOINT  # log sig still fine


def test_cosigner_vkey_format() -> None:
    vkey = cosigner_vkey(WITNESS_NAME, WITNESS.public_key)
    name, key_hash, key = vkey.split("+")
    assert name == WITNESS_NAME
    assert bytes.fromhex(key_hash) == cosignature_key_id(WITNESS_NAME, WITNESS.public_key)
    assert base64.b64decode(key) == bytes([COSIGNATURE_TYPE]) + WITNESS.public_key
    assert COSIGNATURE_TYPE == 0x04


def test_independently_built_cosignature_verifies() -> None:
    """A witness written from the spec alone produces a line our verifier accepts."""
    body = CHECKPOINT.text()
    timestamp = 1_764_000_123
    key_id = hashlib.sha256(WITNESS_NAME.encode() + b"\n\x04" + WITNESS.public_key).digest()[:4]
    message = f"cosignature/v1\ntime {timestamp}\n".encode() + body.encode()
    sig = WITNESS.private_key.sign(message)
    blob = key_id + struct.pack(">Q", timestamp) + sig
    line = f"\u2014 {WITNESS_NAME} {b64(blob)}\n"
    assert line == cosignature_line(WITNESS_NAME, WITNESS, body, timestamp)  # Ed25519 is determ.
    assert verify_cosignature(signed() + line, WITNESS_NAME, WITNESS.public_key) == timestamp


def _cosigned(timestamp: int = 1_764_000_000) -> str:
    return signed() + cosignature_line(WITNESS_NAME, WITNESS, CHECKPOINT.text(), timestamp)


def test_cosignature_rejects_a_tampered_body() -> None:
    note = _cosigned()
    for old, new in [("\n43\n", "\n44\n"), (ORIGIN, ORIGIN.replace("hunan", "hunam"))]:
        tampered = note.replace(old, new, 1)
        assert tampered != note
        with pytest.raises(SignatureError, match="does not verify"):
            verify_cosignature(tampered, WITNESS_NAME, WITNESS.public_key)
    root_b64 = b64(ROOT)
    other_root = note.replace(root_b64, b64(hash_leaf(b"other")), 1)
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignature(other_root, WITNESS_NAME, WITNESS.public_key)


@pytest.mark.parametrize("new_time", [1_764_000_001, 1_763_999_999, 0, 2**64 - 1])
def test_cosignature_rejects_a_tampered_time(new_time: int) -> None:
    timestamp = 1_764_000_000
    line = cosignature_line(WITNESS_NAME, WITNESS, CHECKPOINT.text(), timestamp)
    blob = _line_blob(line, WITNESS_NAME)
    forged = blob[:4] + new_time.to_bytes(8, "big") + blob[12:]
    note = signed() + f"{SIGNATURE_PREFIX}{WITNESS_NAME} {b64(forged)}\n"
    with pytest.raises(SignatureError, match="does not verify"):
        verify_cosignature(note, WITNESS_NAME, WITNESS.public_key)


def test_cosignature_by_someone_else_or_missing() -> None:
    note = _cosigned()
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(note, WITNESS_NAME, OTHER.public_key)
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(note, "witness.example/other", WITNESS.public_key)
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(signed(), WITNESS_NAME, WITNESS.public_key)
    # the log's own signature line is not a cosignature, even under the witness name
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(signed(), ORIGIN, LOG.public_key)


def test_cosignature_with_wrong_length_is_malformed() -> None:
    key_id = cosignature_key_id(WITNESS_NAME, WITNESS.public_key)
    short = key_id + struct.pack(">Q", 5) + b"\x00" * 63
    note = signed() + f"{SIGNATURE_PREFIX}{WITNESS_NAME} {b64(short)}\n"
    with pytest.raises(FormatError, match="8-byte time and 64-byte signature"):
        verify_cosignature(note, WITNESS_NAME, WITNESS.public_key)
