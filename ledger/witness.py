"""A C2SP tlog-witness (c2sp.org/tlog-witness) for supervising units.

The witness keeps its own state, in its own database file: the logs it trusts
(origin and verifier key) and, per log, the latest checkpoint it cosigned. It
cosigns a new checkpoint only when the log's signature verifies and a consistency
proof shows the new tree extends the one it cosigned before; everything it was
shown is kept, so a rejected checkpoint remains evidence.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass

from ledger.core.checkpoint import Checkpoint, cosignature_line, cosigner_vkey
from ledger.core.crypto import LocalSigner, Signer
from ledger.core.envelope import b64decode, format_time
from ledger.core.errors import FormatError, LedgerError, SignatureError
from ledger.core.merkle import HASH_SIZE, ProofError, verify_consistency
from ledger.core.note import NoteVerifier, split_note, verify_note
from ledger.keystore import Keystore
from ledger.storage import Database, Transaction

MAX_PROOF_LINES = 63  # c2sp.org/tlog-witness
SIZE_CONTENT_TYPE = "text/x.tlog.size"
_OLD = re.compile(r"old (0|[1-9][0-9]*)")
WITNESS_ACTOR = "witness"
PASSPHRASE_VARIABLE = "LEDGER_WITNESS_PASSPHRASE"  # noqa: S105 - the variable's name

_TABLES = (
    "CREATE TABLE IF NOT EXISTS witness_logs (origin TEXT PRIMARY KEY, vkey TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS witness_latest (origin TEXT PRIMARY KEY, size BIGINT NOT NULL,"
    " root BLOB NOT NULL, note TEXT NOT NULL, cosigned TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS witness_seen (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " origin TEXT NOT NULL, request TEXT NOT NULL, status INTEGER NOT NULL,"
    " reason TEXT NOT NULL, received TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS witness_identity (name TEXT PRIMARY KEY, key_id TEXT NOT NULL)",
)


class WitnessError(LedgerError):
    """The witness cannot start: missing identity, passphrase or configuration."""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer of ``add-checkpoint``."""

    status: int
    body: str
    content_type: str = "text/plain; charset=utf-8"


class Witness:
    """The witness's logic over its state database (an SQLite file by default)."""

    def __init__(self, db: Database, passphrase: str) -> None:
        self.db = db
        for statement in _TABLES:
            db.execute(statement)
        self.keys = Keystore(db, passphrase, variable=PASSPHRASE_VARIABLE)
        rows = db.execute("SELECT name, key_id FROM witness_identity")
        if not rows:
            raise WitnessError("the witness has no identity yet: run `ledger witness init`")
        self.name: str = rows[0][0]
        self.signer: Signer = self.keys.signer(rows[0][1])
        self._lock = threading.Lock()

    @classmethod
    def init(cls, db: Database, passphrase: str, name: str) -> Witness:
        """Create the witness's identity (its name and Ed25519 key) once."""
        if not name or any(c.isspace() for c in name) or "+" in name:
            raise WitnessError(f"witness name {name!r} must be non-empty, without spaces or '+'")
        for statement in _TABLES:
            db.execute(statement)
        if db.execute("SELECT name FROM witness_identity"):
            raise WitnessError("the witness already has an identity")
        signer = Keystore(db, passphrase, variable=PASSPHRASE_VARIABLE).add(
            WITNESS_ACTOR, LocalSigner.generate()
        )
        db.execute(
            "INSERT INTO witness_identity (name, key_id) VALUES (?, ?)", (name, signer.key_id)
        )
        return cls(db, passphrase)

    @property
    def vkey(self) -> str:
        return cosigner_vkey(self.name, self.signer.public_key)

    def trust(self, vkey: str) -> str:
        """Trust a log by its verifier key; return its origin."""
        verifier = NoteVerifier.parse(vkey)
        self.db.execute(
            "INSERT INTO witness_logs (origin, vkey) VALUES (?, ?) "
            "ON CONFLICT (origin) DO UPDATE SET vkey = excluded.vkey",
            (verifier.name, str(verifier)),
        )
        return verifier.name

    def latest(self, origin: str) -> tuple[int, str] | None:
        rows = self.db.execute("SELECT size, note FROM witness_latest WHERE origin = ?", (origin,))
        return None if not rows else (int(rows[0][0]), rows[0][1])

    # -- add-checkpoint ------------------------------------------------------------------

    def add_checkpoint(self, request: bytes) -> Answer:
        """Handle one ``add-checkpoint`` request body (c2sp.org/tlog-witness)."""
        try:
            old, proof, note = _parse_request(request)
        except FormatError as e:
            return Answer(400, f"malformed request: {e}\n")
        origin = note.split("\n", 1)[0]
        vkeys = self.db.execute("SELECT vkey FROM witness_logs WHERE origin = ?", (origin,))
        if not vkeys:
            return self._answer(origin, request, Answer(404, f"unknown log {origin!r}\n"))
        try:
            checkpoint = Checkpoint.parse(verify_note(note, NoteVerifier.parse(vkeys[0][0])))
        except SignatureError as e:
            return self._answer(origin, request, Answer(403, f"{e}\n"))
        except FormatError as e:
            return self._answer(origin, request, Answer(400, f"malformed checkpoint: {e}\n"))
        if old > checkpoint.size:
            return self._answer(origin, request, Answer(400, "old size exceeds checkpoint size\n"))
        with self._lock, self.db.transaction() as tx:  # check and update atomically
            rows = tx.execute("SELECT size, root FROM witness_latest WHERE origin = ?", (origin,))
            size, root = (int(rows[0][0]), bytes(rows[0][1])) if rows else (0, b"")
            same_size_other_root = old == checkpoint.size and rows and root != checkpoint.root
            if old != size or same_size_other_root:
                answer = Answer(409, f"{size}\n", SIZE_CONTENT_TYPE)
            else:
                answer = self._check_and_cosign(tx, checkpoint, note, old, root, proof)
            self._record(tx, origin, request, answer)
        return answer

    def _check_and_cosign(
        self,
        tx: Transaction,
        checkpoint: Checkpoint,
        note: str,
        old: int,
        root: bytes,
        proof: list[bytes],
    ) -> Answer:
        try:
            if old == 0:
                if proof:
                    raise ProofError("the consistency proof must be empty from size 0")
            else:
                verify_consistency(old, checkpoint.size, root, checkpoint.root, proof)
        except ProofError as e:
            return Answer(422, f"consistency proof does not verify: {e.problem}\n")
        timestamp = int(time.time())
        line = cosignature_line(self.name, self.signer, checkpoint.text(), timestamp)
        tx.execute(
            "INSERT INTO witness_latest (origin, size, root, note, cosigned) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root,"
            " note = excluded.note, cosigned = excluded.cosigned",
            (checkpoint.origin, checkpoint.size, checkpoint.root, note, str(timestamp)),
        )
        return Answer(200, line)

    def _record(self, tx: Transaction, origin: str, request: bytes, answer: Answer) -> None:
        tx.execute(
            "INSERT INTO witness_seen (origin, request, status, reason, received) "
            "VALUES (?, ?, ?, ?, ?)",
            (
                origin,
                request.decode("utf-8", "replace"),
                answer.status,
                answer.body.strip(),
                _now(),
            ),
        )

    def _answer(self, origin: str, request: bytes, answer: Answer) -> Answer:
        with self.db.transaction() as tx:
            self._record(tx, origin, request, answer)
        return answer


def _now() -> str:
    from datetime import UTC, datetime

    return format_time(datetime.now(UTC))


def _parse_request(request: bytes) -> tuple[int, list[bytes], str]:
    try:
        text = request.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FormatError("request is not UTF-8") from e
    head, sep, note = text.partition("\n\n")
    if not sep:
        raise FormatError("expected an old size line, proof lines, an empty line, a checkpoint")
    lines = head.split("\n")
    match = _OLD.fullmatch(lines[0])
    if match is None:
        raise FormatError("the first line must be 'old <size>'")
    if len(lines) - 1 > MAX_PROOF_LINES:
        raise FormatError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = [b64decode(line, size=HASH_SIZE, what="proof line") for line in lines[1:]]
    split_note(note)  # well-formed signed note
    return int(match.group(1)), proof, note
