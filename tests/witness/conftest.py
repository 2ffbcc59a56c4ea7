"""Fixtures of the witness tests: witnesses made quickly, and a second database of the
same kind as ``db`` for a forked ledger."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from ledger.storage import Database
from ledger.witness import Witness
from tests.conftest import PG_URL, drop_schema
from tests.witness.helpers import PASSPHRASE, new_witness, witness_db


class MakeWitness(Protocol):
    def __call__(self, path: Path, name: str, *trusted: str) -> Witness: ...


@pytest.fixture(scope="session")
def make_witness(tmp_path_factory: pytest.TempPathFactory) -> MakeWitness:
    """A witness with its own fresh state file, trusting the given log keys.

    ``witness init`` derives the keystore key twice (scrypt); each name's identity is
    made once per session and its state file copied, so a test opens it only once.
    """
    templates = tmp_path_factory.mktemp("witness-templates")
    made: dict[str, Path] = {}

    def make(path: Path, name: str, *trusted: str) -> Witness:
        template = made.get(name)
        if template is None:
            template = templates / f"{len(made)}.sqlite3"
            new_witness(template, name).db.close()
            made[name] = template
        shutil.copyfile(template, path)
        witness = Witness(witness_db(path), PASSPHRASE)
        for vkey in trusted:
            witness.trust(vkey)
        return witness

    return make


@pytest.fixture
def fork_db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """Another database like ``db`` (an SQLite file, or a fresh PostgreSQL schema)."""
    schema = None
    if database_url.startswith("sqlite"):
        url = f"sqlite:///{tmp_path}/fork.sqlite3"
    else:
        schema = "t_" + uuid.uuid4().hex[:12]
        url = f"{PG_URL}{'&' if '?' in PG_URL else '?'}schema={schema}"
    database = Database(url)
    try:
        yield database
    finally:
        database.close()
        if schema is not None:
            drop_schema(schema)
