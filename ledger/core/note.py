"""C2SP signed-note keys and signatures (c2sp.org/signed-note), Ed25519 only.

A verifier key string is ``<name>+<hex key id>+<base64(0x01 || public key)>``; the key
id is the first four bytes of SHA-256(name || "\\n" || 0x01 || public key).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ledger.core.crypto import PUBLIC_KEY_SIZE, Signer, verify_signature
from ledger.core.envelope import b64decode, b64encode
from ledger.core.errors import FormatError, SignatureError

ED25519_TYPE = 0x01  # c2sp.org/signed-note: signature type for Ed25519
SIGNATURE_PREFIX = "\u2014 "  # em dash and space open every signature line
_NAME = re.compile(r"[^\s+]+")


def note_key_id(name: str, key_type: int, public_key: bytes) -> bytes:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([key_type]) + public_key).digest()
    return digest[:4]


@dataclass(frozen=True)
class NoteVerifier:
    """A parsed Ed25519 verifier key."""

    name: str
    key_hash: bytes
    public_key: bytes

    @classmethod
    def parse(cls, vkey: str) -> NoteVerifier:
        parts = vkey.strip().split("+", 2)
        if len(parts) != 3 or not _NAME.fullmatch(parts[0]):
            raise FormatError("verifier key must be name+hash+key")
        name, hash_hex, key_b64 = parts
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise FormatError("verifier key hash must be 8 lowercase hex digits")
        key = b64decode(key_b64, size=PUBLIC_KEY_SIZE + 1, what="verifier key")
        if key[0] != ED25519_TYPE:
            raise FormatError(f"verifier key type: expected {ED25519_TYPE:#04x}, got {key[0]:#04x}")
        public_key = key[1:]
        key_hash = bytes.fromhex(hash_hex)
        if note_key_id(name, ED25519_TYPE, public_key) != key_hash:
            raise FormatError("verifier key hash does not match its name and key")
        return cls(name=name, key_hash=key_hash, public_key=public_key)

    def __str__(self) -> str:
        key = b64encode(bytes([ED25519_TYPE]) + self.public_key)
        return f"{self.name}+{self.key_hash.hex()}+{key}"


def verifier_key(name: str, public_key: bytes) -> str:
    """The verifier key string for an Ed25519 key named ``name``."""
    if not _NAME.fullmatch(name):
        raise FormatError(f"key name {name!r} must be non-empty, without spaces or '+'")
    key_hash = note_key_id(name, ED25519_TYPE, public_key)
    return str(NoteVerifier(name=name, key_hash=key_hash, public_key=public_key))


def signature_line(name: str, signer: Signer, text: bytes) -> str:
    """One signed-note signature line for ``text`` (which must end in a newline)."""
    key_hash = note_key_id(name, ED25519_TYPE, signer.public_key)
    return f"{SIGNATURE_PREFIX}{name} {b64encode(key_hash + signer.sign(text))}\n"


def sign_note(text: str, name: str, signer: Signer) -> str:
    """A signed note: the text, a blank line, one signature line."""
    if not text.endswith("\n"):
        raise FormatError("note text must end with a newline")
    return text + "\n" + signature_line(name, signer, text.encode())


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """Text and (name, key hash + signature) pairs of a signed note."""
    text, sep, sigs = note.rpartition("\n\n")
    if not sep or not sigs.endswith("\n"):
        raise FormatError("a signed note is text, a blank line, and signature lines")
    lines = []
    for line in sigs[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise FormatError(f"malformed signature line {line!r}")
        name, _, sig_b64 = line[len(SIGNATURE_PREFIX) :].partition(" ")
        sig = b64decode(sig_b64, what="note signature")
        if len(sig) < 5:
            raise FormatError("note signature is too short")
        lines.append((name, sig))
    return text + "\n", lines


def verify_note(note: str, verifier: NoteVerifier) -> str:
    """Return the note's text when one of its signatures is ``verifier``'s; fail otherwise."""
    text, sigs = split_note(note)
    for name, sig in sigs:
        if name == verifier.name and sig[:4] == verifier.key_hash:
            if verify_signature(verifier.public_key, sig[4:], text.encode()):
                return text
            raise SignatureError(f"note signature by {verifier.name} does not verify")
    raise SignatureError(f"note has no signature by {verifier.name}+{verifier.key_hash.hex()}")
