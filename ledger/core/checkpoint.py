"""C2SP tlog-checkpoint bodies and tlog-cosignature/v1 (c2sp.org/tlog-checkpoint,
c2sp.org/tlog-cosignature), inside C2SP signed notes.
"""

from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass

from ledger.core.crypto import Signer, verify_signature
from ledger.core.envelope import b64decode, b64encode
from ledger.core.errors import FormatError, SignatureError
from ledger.core.merkle import HASH_SIZE
from ledger.core.note import (
    SIGNATURE_PREFIX,
    NoteVerifier,
    split_note,
    verify_note,
)

COSIGNATURE_TYPE = 0x04  # c2sp.org/tlog-cosignature: Ed25519 cosignature v1 key type
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class Checkpoint:
    """Origin, tree size and root hash: the body of a checkpoint note."""

    origin: str
    size: int
    root: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.size}\n{b64encode(self.root)}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """Parse a checkpoint body; this format allows no extension lines (FORMAT.md §5)."""
        if not text.endswith("\n"):
            raise FormatError("checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) != 3:
            raise FormatError(f"checkpoint body: expected 3 lines, got {len(lines)}")
        origin, size_text, root_text = lines
        if not origin or " " in origin or "+" in origin:
            raise FormatError("checkpoint origin must be non-empty, without spaces or '+'")
        if not _DECIMAL.fullmatch(size_text):
            raise FormatError(f"checkpoint tree size {size_text!r} is not a decimal number")
        root = b64decode(root_text, size=HASH_SIZE, what="checkpoint root hash")
        return cls(origin=origin, size=int(size_text), root=root)


def open_checkpoint(note: str, verifier: NoteVerifier) -> Checkpoint:
    """Verify the log's signature on a checkpoint note and parse its body."""
    checkpoint = Checkpoint.parse(verify_note(note, verifier))
    if checkpoint.origin != verifier.name:
        raise SignatureError(
            f"checkpoint origin {checkpoint.origin!r} is not the key name {verifier.name!r}"
        )
    return checkpoint


def cosignature_key_id(name: str, public_key: bytes) -> bytes:
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([COSIGNATURE_TYPE]) + public_key)
    return digest.digest()[:4]


def cosigned_message(body: str, timestamp: int) -> bytes:
    """c2sp.org/tlog-cosignature: ``cosignature/v1\\ntime T\\n`` followed by the body."""
    return f"cosignature/v1\ntime {timestamp}\n{body}".encode()


def cosignature_line(name: str, signer: Signer, body: str, timestamp: int) -> str:
    """A witness's signature line: key id, 8-byte big-endian time, Ed25519 signature."""
    key_id = cosignature_key_id(name, signer.public_key)
    sig = signer.sign(cosigned_message(body, timestamp))
    return f"{SIGNATURE_PREFIX}{name} {b64encode(key_id + struct.pack('>Q', timestamp) + sig)}\n"


def cosigner_vkey(name: str, public_key: bytes) -> str:
    key_id = cosignature_key_id(name, public_key).hex()
    return f"{name}+{key_id}+{b64encode(bytes([COSIGNATURE_TYPE]) + public_key)}"


def verify_cosignature(note: str, name: str, public_key: bytes) -> int:
    """Return the cosigned time when ``note`` carries a valid v1 cosignature by ``name``."""
    body, sigs = split_note(note)
    key_id = cosignature_key_id(name, public_key)
    for sig_name, blob in sigs:
        if sig_name != name or blob[:4] != key_id:
            continue
        if len(blob) != 4 + 8 + 64:
            raise FormatError("cosignature must be key id, 8-byte time and 64-byte signature")
        (timestamp,) = struct.unpack(">Q", blob[4:12])
        if verify_signature(public_key, blob[12:], cosigned_message(body, timestamp)):
            return int(timestamp)
        raise SignatureError(f"cosignature by {name} does not verify")
    raise SignatureError(f"no cosignature by {name}")
