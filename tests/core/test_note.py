"""C2SP signed notes (c2sp.org/signed-note), Ed25519 keys (FORMAT.md §5)."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.core.crypto import LocalSigner
from ledger.core.errors import FormatError, SignatureError
from ledger.core.note import NoteVerifier, note_key_id, sign_note, verifier_key, verify_note

# The example from the C2SP signed-note specification (see shared/vectors/README.md).
VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
TEXT = "This is an example message.\n"
SIG_LINE = (
    "\u2014 example.com/foo "
    "Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
)
NOTE = TEXT + "\n" + SIG_LINE
REJECTED = (SignatureError, FormatError)

SIGNER = LocalSigner.from_seed(bytes(range(32)))
OTHER = LocalSigner.from_seed(bytes(range(1, 33)))
ORIGIN = "ledger.example.org/hunan-sme"


def test_spec_example_verifies() -> None:
    verifier = NoteVerifier.parse(VKEY)
    assert verifier.name == "example.com/foo"
    assert verifier.key_hash == bytes.fromhex("530d903a")
    assert str(verifier) == VKEY
    assert verify_note(NOTE, verifier) == TEXT


def assert_note_rejected(note_bytes: bytes, verifier: NoteVerifier) -> None:
    try:
        note = note_bytes.decode("utf-8")
    except UnicodeDecodeError:
        return  # not UTF-8: not a note at all
    with pytest.raises(REJECTED):
        verify_note(note, verifier)


def test_every_byte_change_in_the_text_is_rejected() -> None:
    verifier = NoteVerifier.parse(VKEY)
    data = NOTE.encode()
    text_len = len(TEXT.encode())
    for position in range(text_len):
        for mask in range(1, 256):
            tampered = bytearray(data)
            tampered[position] ^= mask
            assert_note_rejected(bytes(tampered), verifier)


@settings(max_examples=200)
@given(st.data())
def test_character_change_in_the_text_is_rejected(data: st.DataObject) -> None:
    verifier = NoteVerifier.parse(VKEY)
    position = data.draw(st.integers(0, len(TEXT) - 1), label="position")
    char = data.draw(
        st.characters(exclude_categories=["Cs"]).filter(lambda c: c != TEXT[position]),
        label="char",
    )
    note = TEXT[:position] + char + TEXT[position + 1 :] + "\n" + SIG_LINE
    with pytest.raises(REJECTED):
        verify_note(note, verifier)


@settings(max_examples=200)
@given(st.data())
def test_byte_change_anywhere_in_the_note_is_rejected(data: st.DataObject) -> None:
    verifier = NoteVerifier.parse(VKEY)
    raw = bytearray(NOTE.encode())
    position = data.draw(st.integers(0, len(raw) - 1), label="position")
    raw[position] ^= data.draw(st.integers(1, 255), label="mask")
    assert_note_rejected(bytes(raw), verifier)


@pytest.mark.parametrize(
    "note",
    [
        TEXT + SIG_LINE,  # no blank line
        TEXT + "\n" + SIG_LINE.rstrip("\n"),  # signature line without newline
        TEXT + "\n" + SIG_LINE.replace("\u2014", "-"),  # hyphen instead of em dash
        TEXT + "\n" + SIG_LINE.replace("=\n", "\n"),  # missing padding
        TEXT + "\n" + "\u2014 example.com/foo Uw2QOg==\n",  # only the key hash
        TEXT.rstrip("\n") + "\n" + SIG_LINE,  # text not ending in newline
        TEXT + "\n",
        "",
    ],
)
def test_malformed_notes_are_rejected(note: str) -> None:
    with pytest.raises(REJECTED):
        verify_note(note, NoteVerifier.parse(VKEY))


def test_note_without_the_verifiers_signature() -> None:
    note = sign_note(TEXT, "example.com/foo", OTHER)  # same name, another key
    with pytest.raises(SignatureError):
        verify_note(note, NoteVerifier.parse(VKEY))
    note = sign_note(TEXT, "example.com/bar", SIGNER)
    with pytest.raises(SignatureError):
        verify_note(note, NoteVerifier.parse(verifier_key("example.com/foo", SIGNER.public_key)))


def test_verifier_key_format() -> None:
    vkey = verifier_key(ORIGIN, SIGNER.public_key)
    match = re.fullmatch(r"([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+=*)", vkey)
    assert match is not None
    name, key_hash, key_b64 = match.groups()
    assert name == ORIGIN
    key = base64.b64decode(key_b64, validate=True)
    assert key == b"\x01" + SIGNER.public_key
    expected_hash = hashlib.sha256(ORIGIN.encode() + b"\n\x01" + SIGNER.public_key).digest()[:4]
    assert key_hash == expected_hash.hex()
    assert note_key_id(ORIGIN, 0x01, SIGNER.public_key) == expected_hash
    verifier = NoteVerifier.parse(vkey)
    assert (verifier.name, verifier.key_hash, verifier.public_key) == (
        ORIGIN,
        expected_hash,
        SIGNER.public_key,
    )
    assert str(verifier) == vkey


@pytest.mark.parametrize("name", ["", "has space", "has+plus", "tab\there", "new\nline"])
def test_verifier_key_rejects_bad_names(name: str) -> None:
    with pytest.raises(FormatError):
        verifier_key(name, SIGNER.public_key)


def test_sign_and_verify_round_trip() -> None:
    text = f"{ORIGIN}\n42\n{base64.b64encode(bytes(32)).decode()}\n"
    note = sign_note(text, ORIGIN, SIGNER)
    assert note.startswith(text + "\n\u2014 " + ORIGIN + " ")
    assert note.endswith("\n")
    assert verify_note(note, NoteVerifier.parse(verifier_key(ORIGIN, SIGNER.public_key))) == text
    # Independent check of the signature line.
    sig = base64.b64decode(note.rsplit(" ", 1)[1].rstrip("\n"), validate=True)
    assert len(sig) == 4 + 64
    assert sig[:4] == note_key_id(ORIGIN, 0x01, SIGNER.public_key)
    Ed25519PublicKey.from_public_bytes(SIGNER.public_key).verify(sig[4:], text.encode())


@settings(max_examples=50)
@given(st.lists(st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\n"),
                        min_size=1), min_size=1, max_size=4))  # fmt: skip
def test_sign_and_verify_property(lines: list[str]) -> None:
    text = "".join(line + "\n" for line in lines)
    note = sign_note(text, ORIGIN, SIGNER)
    assert verify_note(note, NoteVerifier.parse(verifier_key(ORIGIN, SIGNER.public_key))) == text


def test_sign_note_requires_final_newline() -> None:
    with pytest.raises(FormatError):
        sign_note("no newline", ORIGIN, SIGNER)


def test_wrong_name_or_key_is_rejected_by_verify() -> None:
    note = sign_note(TEXT, ORIGIN, SIGNER)
    other_key = NoteVerifier.parse(verifier_key(ORIGIN, OTHER.public_key))
    with pytest.raises(SignatureError):
        verify_note(note, other_key)
    other_name = NoteVerifier.parse(verifier_key(ORIGIN + "x", SIGNER.public_key))
    with pytest.raises(SignatureError):
        verify_note(note, other_name)
    # Same name and key hash, but a different public key: the signature does not verify.
    forged = NoteVerifier(
        name=ORIGIN, key_hash=note_key_id(ORIGIN, 0x01, SIGNER.public_key),
        public_key=OTHER.public_key,
    )  # fmt: skip
    with pytest.raises(SignatureError):
        verify_note(note, forged)


def flip_hex(text: str) -> str:
    return text[:-1] + ("0" if text[-1] != "0" else "1")


@pytest.mark.parametrize(
    "vkey",
    [
        "example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # wrong name
        "example.com/foo+" + flip_hex("530d903a") + "+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # uppercase
        "example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # 7 hex digits
        "example.com/foo+530d903a+AkkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # other key
        "example.com/foo+530d903a+AOkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",  # type 0x00
        "example.com/foo+530d903a+" + base64.b64encode(b"\x01" + bytes(31)).decode(),
        "example.com/foo+530d903a",
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+x",
        "+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "",
    ],
)
def test_bad_verifier_keys_are_rejected(vkey: str) -> None:
    with pytest.raises(FormatError):
        NoteVerifier.parse(vkey)
