"""Custodial keys: actors' Ed25519 private keys sealed in the database.

Each private key is encrypted with AES-256-GCM under a key derived by scrypt
from a passphrase given in the environment (``LEDGER_KEYSTORE_PASSPHRASE``).
The ledger signs through the :class:`~ledger.core.crypto.Signer` protocol, so an
HSM or KMS can take this keystore's place.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC, datetime

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.core.crypto import LocalSigner, Signer
from ledger.core.envelope import format_time
from ledger.core.errors import LedgerError
from ledger.core.note import verifier_key
from ledger.core.trust import KeyRing
from ledger.storage import Database

_CHECK = b"ledger keystore v1"
SCRYPT_N = 2**15  # RFC 7914 parameters for interactive use, 32 MiB
SCRYPT_R = 8
SCRYPT_P = 1


def log_actor(origin: str) -> str:
    """The keystore entry under which a ledger's checkpoint-signing key is kept."""
    return f"log:{origin}"


class KeystoreError(LedgerError):
    """The keystore cannot be opened (missing or wrong passphrase) or lacks a key."""


class Keystore:
    """Sealed private keys by actor; implements the application's ``SignerSource``."""

    def __init__(
        self, db: Database, passphrase: str, *, variable: str = "LEDGER_KEYSTORE_PASSPHRASE"
    ) -> None:
        self.variable = variable
        if not passphrase:
            raise KeystoreError(f"keystore passphrase is empty: set {variable}")
        self.db = db
        db.ensure_ready()
        self._kek = AESGCM(self._derive(passphrase))
        self._signers: dict[str, LocalSigner] = {}
        self._by_actor: dict[str, list[str]] = {}
        self._lock = threading.Lock()
        self._load()

    def _derive(self, passphrase: str) -> bytes:
        rows = self.db.execute("SELECT value FROM ledger_keystore_meta WHERE name = 'salt'")
        if rows:
            salt = bytes(rows[0][0])
        else:
            salt = os.urandom(16)
            self.db.execute(
                "INSERT INTO ledger_keystore_meta (name, value) VALUES ('salt', ?) "
                "ON CONFLICT (name) DO NOTHING",
                (salt,),
            )
            salt = bytes(
                self.db.execute("SELECT value FROM ledger_keystore_meta WHERE name = 'salt'")[0][0]
            )
        kek = Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(
            passphrase.encode()
        )
        self._check_passphrase(AESGCM(kek))
        return kek

    def _check_passphrase(self, aead: AESGCM) -> None:
        rows = self.db.execute("SELECT value FROM ledger_keystore_meta WHERE name = 'check'")
        if not rows:
            nonce = os.urandom(12)
            self.db.execute(
                "INSERT INTO ledger_keystore_meta (name, value) VALUES ('check', ?) "
                "ON CONFLICT (name) DO NOTHING",
                (nonce + aead.encrypt(nonce, _CHECK, None),),
            )
            return
        blob = bytes(rows[0][0])
        try:
            aead.decrypt(blob[:12], blob[12:], None)
        except InvalidTag:
            raise KeystoreError(f"wrong keystore passphrase ({self.variable})") from None

    def _load(self) -> None:
        rows = self.db.execute("SELECT key_id, actor, sealed FROM ledger_keystore ORDER BY created")
        for key_id, actor, sealed in rows:
            if key_id in self._signers:
                continue
            blob = bytes(sealed)
            try:
                seed = self._kek.decrypt(blob[:12], blob[12:], key_id.encode())
            except InvalidTag:
                raise KeystoreError(f"sealed key {key_id} does not open") from None
            self._remember(actor, LocalSigner.from_seed(seed))

    def _remember(self, actor: str, signer: LocalSigner) -> None:
        self._signers[signer.key_id] = signer
        self._by_actor.setdefault(actor, []).insert(0, signer.key_id)

    def add(self, actor: str, signer: LocalSigner) -> LocalSigner:
        """Seal ``signer``'s private key for ``actor`` and keep it."""
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        seed = signer.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        nonce = os.urandom(12)
        sealed = nonce + self._kek.encrypt(nonce, seed, signer.key_id.encode())
        with self._lock:
            self.db.execute(
                "INSERT INTO ledger_keystore (key_id, actor, sealed, created) VALUES (?, ?, ?, ?)",
                (signer.key_id, actor, sealed, format_time(datetime.now(UTC))),
            )
            self._remember(actor, signer)
        return signer

    def generate(self, actor: str) -> LocalSigner:
        return self.add(actor, LocalSigner.generate())

    def signer(self, key_id: str) -> LocalSigner:
        try:
            return self._signers[key_id]
        except KeyError:
            self._load()
        try:
            return self._signers[key_id]
        except KeyError:
            raise KeystoreError(f"no key {key_id} in the keystore") from None

    def signers_of(self, actor: str) -> list[LocalSigner]:
        """Every key kept for ``actor``, newest first (e.g. a log's checkpoint keys)."""
        return [self._signers[k] for k in self._by_actor.get(actor, [])]

    def log_signer(self, origin: str, vkey: str) -> LocalSigner | None:
        """The kept checkpoint-signing key of ``origin`` whose verifier key is ``vkey``
        (the one its ``LedgerOpened`` names), if the keystore holds it."""
        return next(
            (
                s
                for s in self.signers_of(log_actor(origin))
                if verifier_key(origin, s.public_key) == vkey
            ),
            None,
        )

    def signer_for(self, actor: str, keyring: KeyRing) -> Signer | None:
        """The newest key of ``actor`` that the ledger holds valid for that actor."""
        for key_id in self._by_actor.get(actor, []):
            state = keyring.keys.get(key_id)
            if state is not None and state.actor == actor and state.revoked_at is None:
                return self._signers[key_id]
        return None


class MemorySigners:
    """Signers held in memory, by actor: for tests, benchmarks and one-off tools."""

    def __init__(self) -> None:
        self._by_actor: dict[str, list[Signer]] = {}

    def add(self, actor: str, signer: Signer) -> Signer:
        self._by_actor.setdefault(actor, []).insert(0, signer)
        return signer

    def signer_for(self, actor: str, keyring: KeyRing) -> Signer | None:
        for signer in self._by_actor.get(actor, []):
            state = keyring.keys.get(signer.key_id)
            if state is not None and state.actor == actor and state.revoked_at is None:
                return signer
        return None
