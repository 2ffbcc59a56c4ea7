"""Helpers for the witness tests: witnesses, a forked twin ledger, add-checkpoint bodies,
and a Cosigners transport that reaches in-process witness apps."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from starlette.exceptions import StarletteDeprecationWarning

from api.witness_app import create_witness_app
from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import b64encode
from ledger.core.note import verifier_key
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint
from ledger.witness import Witness
from ledger.witnessing import WitnessConfig, WitnessingError
from tests.support import OPENING_ENTRIES as OPENING_ENTRIES
from tests.support import ORIGIN, OpenLedger, open_ledger, service_record

with warnings.catch_warnings():  # starlette prefers httpx2; httpx is what is installed
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = ["TestClient"]

PASSPHRASE = "witness state passphrase"
#: A test ledger's size once open (``tests.support.open_ledger``): the sizes the witness
#: tests grow logs to count from it.
BASE = OPENING_ENTRIES
SIZE_TYPE = "text/x.tlog.size"


def witness_db(path: Path) -> Database:
    return Database(f"sqlite:///{path}")


def new_witness(path: Path, name: str, *trusted: str) -> Witness:
    """A witness with its own SQLite state at ``path``, trusting the given log keys."""
    witness = Witness.init(witness_db(path), PASSPHRASE, name)
    for vkey in trusted:
        witness.trust(vkey)
    return witness


def log_vkey(ledger: OpenLedger, origin: str = ORIGIN) -> str:
    return verifier_key(origin, ledger.log.public_key)


def request(old: int, proof: Sequence[bytes], note: str) -> bytes:
    """An ``add-checkpoint`` body: old size, base64 proof lines, a blank line, the note."""
    lines = [f"old {old}", *(b64encode(h) for h in proof)]
    return ("\n".join(lines) + "\n\n" + note).encode()


def media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip()


def open_twin(
    db: Database, root: LocalSigner, log: LocalSigner, origin: str = ORIGIN
) -> OpenLedger:
    """A second ledger of the same origin, opened with the same root and log keys: a fork.

    Both ledgers sign valid checkpoints under the same verifier key, but their entries
    (times, enrolled keys) differ, so equal sizes have different roots.
    """
    return open_ledger(db, origin, root=root, log=log)


def grow_to(ledger: OpenLedger, size: int) -> SignedCheckpoint:
    """Record services until the log holds ``size`` entries; sign a checkpoint of that size."""
    stored = sum(1 for _ in ledger.db.iter_log(ledger.app.origin))
    for n in range(stored, size):
        ledger.record_service(n)
    signed = ledger.app.publish()
    assert signed is not None
    assert signed.checkpoint.size == size
    return signed


def record(app: LedgerApplication, n: int) -> int:
    """Save one service record through ``app``; return its notification id (log position)."""
    service = service_record(n)
    recordings = app.save(service)
    return int(recordings[-1].notification.id)


@dataclass
class Call:
    url: str
    old: int
    status: int


@dataclass
class ClientTransport:
    """A ``Cosigners`` transport posting to in-process witness apps, by base URL.

    A URL in ``unreachable`` raises WitnessingError (as ``http_post`` does when a witness
    cannot be reached); one in ``broken`` answers HTTP 500.
    """

    clients: dict[str, TestClient] = field(default_factory=dict)
    unreachable: set[str] = field(default_factory=set)
    broken: set[str] = field(default_factory=set)
    calls: list[Call] = field(default_factory=list)

    def __call__(self, url: str, body: bytes) -> tuple[int, str, bytes]:
        base, _, path = url.rpartition("/")
        assert path == "add-checkpoint", url
        old = int(body.split(b"\n", 1)[0].removeprefix(b"old "))
        if base in self.unreachable:
            self.calls.append(Call(base, old, 0))
            raise WitnessingError(f"witness at {url} is unreachable: connection refused")
        if base in self.broken:
            self.calls.append(Call(base, old, 500))
            return 500, "text/plain; charset=utf-8", b"Internal Server Error"
        response = self.clients[base].post("/add-checkpoint", content=body)
        self.calls.append(Call(base, old, response.status_code))
        return response.status_code, response.headers["content-type"], response.content

    def calls_to(self, base: str) -> list[tuple[int, int]]:
        return [(c.old, c.status) for c in self.calls if c.url == base]


def config(witness: Witness, url: str) -> WitnessConfig:
    """The log's view of a witness: parsed from its published cosigner key and its URL."""
    return WitnessConfig.parse(f"{witness.vkey}@{url}")


def client_of(witness: Witness) -> TestClient:
    return TestClient(create_witness_app(witness))
