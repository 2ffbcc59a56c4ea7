"""Helpers shared by tests: open a ledger, and tamper with storage as the database owner."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.domain.services import ServiceRecord
from ledger.keystore import MemorySigners
from ledger.storage import Database

ORIGIN = "ledger.example.org/test"


@dataclass
class OpenLedger:
    db: Database
    app: LedgerApplication
    signers: MemorySigners
    root: LocalSigner
    log: LocalSigner
    actors: dict[str, LocalSigner]

    def enrol(self, actor: str) -> LocalSigner:
        signer = LocalSigner.generate()
        self.signers.add(actor, signer)
        self.app.register_key(by="root", subject=actor, public_key=signer.public_key)
        self.actors[actor] = signer
        return signer

    def record_service(self, n: int, actor: str = "platform/changsha") -> ServiceRecord:
        record = service_record(n, actor)
        self.app.save(record)
        return record


def service_record(n: int, actor: str = "platform/changsha") -> ServiceRecord:
    """Service record number ``n``: one enterprise served, one contract as evidence."""
    return ServiceRecord.record(
        stream=f"service/{n:06d}",
        actor=actor,
        provider="provider/001",
        platform="platform/hub",
        item="管理咨询",
        enterprises=[f"enterprise/{n:04d}"],
        channel="offline",
        charge="commercial",
        fee_fen=120_000,
        evidence=[
            {
                "type": "合同",
                "sha256": f"{n:064x}",
                "basis_date": "2026-11-20",
                "media_type": "application/pdf",
                "size": 1234,
            }
        ],
    )


def open_ledger(db: Database, origin: str = ORIGIN) -> OpenLedger:
    signers = MemorySigners()
    root, log = LocalSigner.generate(), LocalSigner.generate()
    signers.add("root", root)
    app = LedgerApplication(db, origin, signers=signers, clock=lambda: datetime.now(UTC))
    app.open_ledger(policy="hunan-sme-2015", root_actor="root", root_signers=[root], log_signer=log)
    opened = OpenLedger(db, app, signers, root, log, {})
    opened.enrol("platform/changsha")
    opened.enrol("platform/zhuzhou")
    return opened


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


def run_cli(*argv: str | Path) -> CliResult:
    """Run the ``ledger`` command line in process and capture what it printed."""
    from api.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out, err)
    return CliResult(code, out.getvalue(), err.getvalue())


def owner_sql(db: Database, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Run SQL as the database owner with the append-only triggers out of the way."""
    if db.is_postgres:
        c = db.config
        with psycopg.connect(
            host=c.host,
            port=c.port,
            user=c.user,
            password=c.password,
            dbname=c.dbname,
            autocommit=False,
        ) as conn:
            conn.execute("SET session_replication_role = replica")  # triggers off
            conn.execute(f'SET search_path TO "{c.schema}"')
            conn.execute(statement.replace("?", "%s"), params)
            conn.commit()
        return
    import sqlite3

    with sqlite3.connect(db.config.path) as conn:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(statement, params)
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()
