"""Personal-information disclosures, kept outside the log and encrypted at rest.

One AES-256-GCM data key per subject, wrapped by a master key. Erasing a subject
destroys its data key (and ciphertexts): every entry, signature and proof stays
valid, because entries hold only commitments (FORMAT.md §3).
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ledger.core.canonical import canonical, parse
from ledger.core.envelope import b64decode
from ledger.core.errors import FormatError, LedgerError
from ledger.core.pi import Disclosure
from ledger.storage import Database

MASTER_KEY_SIZE = 32


class VaultError(LedgerError):
    """The disclosure vault cannot open or store a disclosure."""


def parse_master_key(text: str) -> bytes:
    try:
        return b64decode(text.strip(), size=MASTER_KEY_SIZE, what="LEDGER_MASTER_KEY")
    except FormatError as e:
        raise VaultError(str(e)) from e


def person_index(key: bytes, id_card: str) -> str:
    """HMAC-SHA-256 of a person's ID-card number under ``key``: the same person always gets
    the same index, so a person is registered once and a blacklisted person cannot return;
    the number itself cannot be read from it without the key."""
    message = canonical(["id_card", id_card.strip().upper()])
    return hmac.new(key, message, hashlib.sha256).hexdigest()


class DisclosureVault:
    """Encrypted disclosures of one ledger, by subject."""

    def __init__(self, db: Database, origin: str, master_key: bytes) -> None:
        if len(master_key) != MASTER_KEY_SIZE:
            raise VaultError(f"master key: expected {MASTER_KEY_SIZE} bytes")
        self.db, self.origin = db, origin
        self._master = AESGCM(master_key)
        self._index_key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=None,
            info=canonical(["ledger person index", origin]),
        ).derive(master_key)
        db.ensure_ready()

    def person_index(self, id_card: str) -> str:
        """The keyed index of a person's ID-card number, under a key derived from the
        master key (see :func:`person_index`)."""
        return person_index(self._index_key, id_card)

    def _aad(self, subject: str) -> bytes:
        return canonical([self.origin, subject])

    def _data_key(self, subject: str, *, create: bool) -> AESGCM | None:
        rows = self.db.execute(
            "SELECT wrapped FROM ledger_data_keys WHERE origin = ? AND subject = ?",
            (self.origin, subject),
        )
        if not rows:
            if not create:
                return None
            key, nonce = AESGCM.generate_key(bit_length=256), os.urandom(12)
            wrapped = nonce + self._master.encrypt(nonce, key, self._aad(subject))
            self.db.execute(
                "INSERT INTO ledger_data_keys (origin, subject, wrapped) VALUES (?, ?, ?) "
                "ON CONFLICT (origin, subject) DO NOTHING",
                (self.origin, subject, wrapped),
            )
            return self._data_key(subject, create=False)
        blob = bytes(rows[0][0])
        try:
            return AESGCM(self._master.decrypt(blob[:12], blob[12:], self._aad(subject)))
        except InvalidTag:
            raise VaultError(f"data key of {subject!r} does not unwrap: wrong master key") from None

    def store(self, subject: str, disclosures: Iterable[Disclosure]) -> int:
        """Encrypt and keep each disclosure under ``subject``'s data key."""
        key = self._data_key(subject, create=True)
        assert key is not None  # noqa: S101 - created just above
        count = 0
        for disclosure in disclosures:
            commitment = disclosure.commitment()
            nonce = os.urandom(12)
            plain = canonical(disclosure.to_json())
            self.db.execute(
                "INSERT INTO ledger_disclosures (origin, commitment, subject, nonce, ciphertext) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT (origin, commitment) DO NOTHING",
                (
                    self.origin,
                    commitment,
                    subject,
                    nonce,
                    key.encrypt(nonce, plain, commitment.encode()),
                ),
            )
            count += 1
        return count

    def open(self, commitment: str) -> Disclosure | None:
        """The disclosure behind ``commitment``, or None once erased (or never stored)."""
        rows = self.db.execute(
            "SELECT subject, nonce, ciphertext FROM ledger_disclosures "
            "WHERE origin = ? AND commitment = ?",
            (self.origin, commitment),
        )
        if not rows:
            return None
        subject, nonce, ciphertext = rows[0]
        key = self._data_key(subject, create=False)
        if key is None:
            return None
        try:
            plain = key.decrypt(bytes(nonce), bytes(ciphertext), commitment.encode())
        except InvalidTag:
            raise VaultError(f"disclosure {commitment} does not decrypt") from None
        disclosure = Disclosure.from_json(parse(plain))
        if disclosure.commitment() != commitment:
            raise VaultError(f"disclosure {commitment} does not match its commitment")
        return disclosure

    def erase(self, subject: str) -> int:
        """Destroy ``subject``'s data key and disclosures; return how many were erased."""
        count = self.db.execute(
            "SELECT COUNT(*) FROM ledger_disclosures WHERE origin = ? AND subject = ?",
            (self.origin, subject),
        )[0][0]
        self.db.execute(
            "DELETE FROM ledger_data_keys WHERE origin = ? AND subject = ?", (self.origin, subject)
        )
        self.db.execute(
            "DELETE FROM ledger_disclosures WHERE origin = ? AND subject = ?",
            (self.origin, subject),
        )
        return int(count)

    def subjects(self) -> list[str]:
        rows = self.db.execute(
            "SELECT subject FROM ledger_data_keys WHERE origin = ? ORDER BY subject", (self.origin,)
        )
        return [row[0] for row in rows]
