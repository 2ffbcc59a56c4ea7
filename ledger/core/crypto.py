"""Ed25519 keys, key ids and signing (FORMAT.md §1, §4; RFC 8032)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.core.errors import FormatError

PUBLIC_KEY_SIZE = 32  # RFC 8032 §5.1.5
ALGORITHM = "ed25519"


def key_id(public_key: bytes) -> str:
    """Key id: lowercase hex SHA-256 of the raw 32-byte public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise FormatError(f"public key: expected {PUBLIC_KEY_SIZE} bytes, got {len(public_key)}")
    return hashlib.sha256(public_key).hexdigest()


def raw_public_key(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def verify_signature(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """True when ``signature`` is a valid Ed25519 signature of ``message``."""
    try:
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


class Verifiers:
    """Parsed public keys by key id, each checked once against its id (SHA-256)."""

    def __init__(self) -> None:
        self._keys: dict[str, Ed25519PublicKey | None] = {}

    def get(self, key: str, public_key: bytes | None) -> Ed25519PublicKey | None:
        """The verifier for ``key``, if ``public_key`` is really the key with that id."""
        if key in self._keys:
            return self._keys[key]
        if public_key is None:
            return None
        try:
            parsed = (
                Ed25519PublicKey.from_public_bytes(public_key)
                if key_id(public_key) == key
                else None
            )
        except (ValueError, FormatError):
            parsed = None
        self._keys[key] = parsed
        return parsed


def verify_with(verifier: Ed25519PublicKey, signature: bytes, message: bytes) -> bool:
    try:
        verifier.verify(signature, message)
    except InvalidSignature:
        return False
    return True


class Signer(Protocol):
    """Something that signs canonical bytes with one Ed25519 key (a keystore, HSM or KMS)."""

    @property
    def public_key(self) -> bytes: ...

    @property
    def key_id(self) -> str: ...

    def sign(self, message: bytes) -> bytes: ...


@dataclass(frozen=True)
class LocalSigner:
    """A signer holding its private key in memory."""

    private_key: Ed25519PrivateKey

    @classmethod
    def generate(cls) -> LocalSigner:
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> LocalSigner:
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @cached_property
    def public_key(self) -> bytes:
        return raw_public_key(self.private_key)

    @cached_property
    def key_id(self) -> str:
        return key_id(self.public_key)

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)
