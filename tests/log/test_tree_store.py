"""The stored RFC 9162 tree and its signed checkpoints (ledger/tlog.py), on both databases."""

from __future__ import annotations

import pytest

from ledger.core.checkpoint import open_checkpoint
from ledger.core.merkle import (
    EMPTY_ROOT,
    CompactRange,
    Node,
    ProofError,
    hash_leaf,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from ledger.core.note import NoteVerifier
from ledger.export import log_vkey
from ledger.storage import Database, StorageError
from ledger.tlog import TreeStore, verified_checkpoint
from tests.log.helpers import (
    OPENING_ENTRIES,
    leaf_hashes,
    log_vkey_of,
    record_and_publish,
    rows_of,
    tables,
)
from tests.support import ORIGIN, OpenLedger, open_ledger, owner_sql

BATCHES = [range(1, 8), range(8, 21), range(21, 22), range(22, 41)]
SIZES = [OPENING_ENTRIES + b.stop - 1 for b in BATCHES]


@pytest.fixture
def published(ledger: OpenLedger) -> OpenLedger:
    """Forty services, published at four sizes."""
    signed = record_and_publish(ledger, BATCHES)
    assert [s.checkpoint.size for s in signed] == SIZES
    return ledger


def _all_nodes(db: Database) -> tuple[set[tuple[int, int, bytes]], set[tuple[int, int, bytes]]]:
    t = tables()
    leaves = {(int(i), int(n), bytes(h)) for i, n, h in db.execute(f"SELECT * FROM {t.leaves}")}
    nodes = {(int(lv), int(i), bytes(h)) for lv, i, h in db.execute(f"SELECT * FROM {t.nodes}")}
    return leaves, nodes


def test_roots_match_the_entries(published: OpenLedger) -> None:
    db = published.db
    leaves = leaf_hashes(db)
    assert len(leaves) == SIZES[-1]
    tree = TreeStore(db, ORIGIN)
    assert tree.size() == SIZES[-1]
    assert tree.root(0) == EMPTY_ROOT
    for n in range(1, len(leaves) + 1):
        assert tree.root(n) == root_of(leaves[:n]), n
    # the leaf index maps each leaf to its stored entry, in log order
    rows = rows_of(db)
    for index, row in enumerate(rows):
        assert tree.notification_id(index) == row.id
    assert tree.notification_id(len(rows)) is None
    stored_leaves, _ = _all_nodes(db)
    assert stored_leaves == {(i, r.id, hash_leaf(r.state)) for i, r in enumerate(rows)}


def test_checkpoints_are_signed_by_the_log_key(published: OpenLedger) -> None:
    db = published.db
    vkey = log_vkey_of(published)
    assert log_vkey(db, ORIGIN) == vkey  # LedgerOpened names the log's key
    tree = TreeStore(db, ORIGIN)
    history = tree.history()
    assert [c.checkpoint.size for c in history] == SIZES
    leaves = leaf_hashes(db)
    for signed in history:
        checkpoint = verified_checkpoint(signed.note, vkey)
        assert checkpoint == signed.checkpoint
        assert checkpoint.origin == ORIGIN
        assert checkpoint.root == root_of(leaves[: checkpoint.size])
        assert tree.at_size(checkpoint.size) == signed
    latest = tree.latest()
    assert latest is not None
    assert latest == history[-1]
    assert tree.at_size(SIZES[0] + 1) is None


def test_every_inclusion_and_consistency_proof_verifies(published: OpenLedger) -> None:
    db = published.db
    tree = TreeStore(db, ORIGIN)
    verifier = NoteVerifier.parse(log_vkey_of(published))
    leaves = leaf_hashes(db)
    checkpoints = [open_checkpoint(c.note, verifier) for c in tree.history()]
    for cp in checkpoints:
        for index in range(cp.size):
            verify_inclusion(index, cp.size, leaves[index], tree.inclusion(index, cp.size), cp.root)
    for old in checkpoints:
        for new in checkpoints:
            if old.size > new.size:
                continue
            proof = tree.consistency(old.size, new.size)
            verify_consistency(old.size, new.size, old.root, new.root, proof)
            if old.size < new.size:  # and not against another size's root
                other = root_of(leaves[: old.size - 1])
                with pytest.raises(ProofError):
                    verify_consistency(old.size, new.size, other, new.root, proof)
    with pytest.raises(ProofError, match="outside"):
        tree.inclusion(SIZES[-1], SIZES[-1])
    with pytest.raises(ProofError, match="no consistency proof"):
        tree.consistency(SIZES[-1], SIZES[0])


def test_small_batches_store_the_same_nodes_as_one_batch(ledger: OpenLedger) -> None:
    db = ledger.db
    for n in range(1, 41):
        ledger.record_service(n)
    leaves = leaf_hashes(db)
    tree = TreeStore(db, ORIGIN)
    sizes = []
    while True:
        before = tree.size()
        after = tree.integrate(limit=3)
        if after == before:
            break
        sizes.append(after)
        assert tree.root(after) == root_of(leaves[:after])
    assert sizes == [*range(3, len(leaves), 3), len(leaves)]
    batched = _all_nodes(db)

    # what one batch gives: the same tables rebuilt in one go
    t = tables()
    owner_sql(db, f"DELETE FROM {t.leaves}")
    owner_sql(db, f"DELETE FROM {t.nodes}")
    assert TreeStore(db, ORIGIN).size() == 0
    assert TreeStore(db, ORIGIN).integrate() == len(leaves)
    assert _all_nodes(db) == batched

    # and what the compact range reports, computed in memory
    compact = CompactRange()
    expected: dict[Node, bytes] = {}
    for leaf in leaves:
        expected.update(compact.append(leaf))
    assert {(lv, i, h) for (lv, i), h in expected.items() if lv > 0} == batched[1]
    assert {(i, h) for (lv, i), h in expected.items() if lv == 0} == {
        (i, h) for i, _, h in batched[0]
    }


def test_integrate_all_and_advance(ledger: OpenLedger) -> None:
    db = ledger.db
    for n in range(1, 12):
        ledger.record_service(n)
    tree = TreeStore(db, ORIGIN)
    assert tree.latest() is None
    assert tree.sign(ledger.log) is None  # nothing integrated yet
    assert tree.integrate_all() == OPENING_ENTRIES + 11
    assert tree.integrate_all() == OPENING_ENTRIES + 11  # idempotent
    signed = tree.advance(ledger.log)
    assert signed is not None
    assert signed.checkpoint.size == OPENING_ENTRIES + 11
    assert signed.checkpoint.root == root_of(leaf_hashes(db))


@pytest.mark.parametrize("table", ["leaves", "nodes", "checkpoints"])
def test_tree_tables_are_append_only(published: OpenLedger, table: str) -> None:
    db = published.db
    name = getattr(tables(), table)
    before = db.execute(f"SELECT * FROM {name}")
    assert before
    column = {"leaves": "hash", "nodes": "hash", "checkpoints": "root"}[table]
    statements = [
        f"UPDATE {name} SET {column} = ?",
        f"DELETE FROM {name}",
    ]
    for statement in statements:
        params: tuple[bytes, ...] = (b"\x00" * 32,) if "?" in statement else ()
        with pytest.raises(StorageError, match="append-only"):
            db.execute(statement, params)
    if db.is_postgres:
        with pytest.raises(StorageError, match="append-only"):
            db.execute(f"TRUNCATE {name}")
    assert db.execute(f"SELECT * FROM {name}") == before
    assert TreeStore(db, ORIGIN).root(SIZES[-1]) == root_of(leaf_hashes(db))


def test_publishing_again_without_new_entries_signs_nothing(published: OpenLedger) -> None:
    tree = TreeStore(published.db, ORIGIN)
    history = tree.history()
    again = published.app.publish()
    assert again is not None
    assert again.note == history[-1].note
    assert published.app.publish() == again
    assert tree.sign(published.log) == again
    assert tree.history() == history


def test_history_grows_with_new_publishes(published: OpenLedger) -> None:
    db = published.db
    tree = TreeStore(db, ORIGIN)
    vkey = log_vkey_of(published)
    history = tree.history()
    for step in range(3):
        published.record_service(100 + step)
        signed = published.app.publish()
        assert signed is not None
        assert signed.checkpoint.size == SIZES[-1] + step + 1
        grown = tree.history()
        assert grown[:-1] == history
        assert grown[-1] == signed
        history = grown
        previous = verified_checkpoint(history[-2].note, vkey)
        current = verified_checkpoint(signed.note, vkey)
        verify_consistency(
            previous.size,
            current.size,
            previous.root,
            current.root,
            tree.consistency(previous.size, current.size),
        )
    sizes = [c.checkpoint.size for c in history]
    assert sizes == sorted(set(sizes))


def test_each_origin_has_its_own_tree(published: OpenLedger) -> None:
    db = published.db
    other_origin = "ledger.example.org/other"
    other = open_ledger(db, other_origin)
    other.record_service(1)
    signed = other.app.publish()
    assert signed is not None
    assert signed.checkpoint.size == OPENING_ENTRIES + 1
    assert signed.checkpoint.root == root_of(leaf_hashes(db, other_origin))
    verified_checkpoint(signed.note, log_vkey_of(other, other_origin))
    assert [c.checkpoint.size for c in TreeStore(db, ORIGIN).history()] == SIZES
    assert TreeStore(db, ORIGIN).root(SIZES[-1]) == root_of(leaf_hashes(db))
