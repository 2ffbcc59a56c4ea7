"""What signed checkpoints add (FORMAT.md §5): truncation, rewrites and forks are caught.

An attacker with owner access to the database can delete rows and write new ones; one
who also holds the log key can re-sign checkpoints for whatever history they like. The
database alone cannot tell then; a checkpoint an auditor saved earlier can.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.core.checkpoint import Checkpoint, open_checkpoint
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import decode_entry
from ledger.core.note import NoteVerifier, sign_note, verifier_key
from ledger.tlog import TreeStore
from ledger.verification import verify_ledger
from tests.log.helpers import (
    CHANGSHA,
    OPENING_ENTRIES,
    CliResult,
    delete_checkpoints_beyond,
    delete_entries,
    log_vkey_of,
    record_and_publish,
    replace_state,
    reseal,
    rows_of,
    run_cli,
    tables,
    truncate,
)
from tests.support import ORIGIN, OpenLedger, owner_sql

BATCHES = [range(1, 11), range(11, 21), range(21, 31)]
SIZES = [OPENING_ENTRIES + b.stop - 1 for b in BATCHES]
CUT = SIZES[-1] - 5  # between the last two checkpoints


@pytest.fixture
def published(ledger: OpenLedger, database_url: str) -> OpenLedger:
    """Thirty services, published at three sizes, verified intact."""
    signed = record_and_publish(ledger, BATCHES)
    assert [s.checkpoint.size for s in signed] == SIZES
    assert_ok(database_url)
    return ledger


def saved_note(ledger: OpenLedger, size: int, tmp_path: Path) -> Path:
    """An auditor's copy of the signed checkpoint at ``size``."""
    signed = TreeStore(ledger.db, ORIGIN).at_size(size)
    assert signed is not None
    path = tmp_path / f"checkpoint-{size}"
    path.write_text(signed.note, encoding="utf-8")
    return path


def verify_cli(database_url: str, *extra: str | Path) -> CliResult:
    return run_cli("verify", "--db", database_url, "--json", *extra)


def assert_ok(database_url: str, *extra: str | Path) -> None:
    result = verify_cli(database_url, *extra)
    assert result.code == 0, (result.out, result.err)
    (report,) = result.json()["ledgers"]
    assert report["ok"] is True
    assert report["origin"] == ORIGIN


def assert_fails(database_url: str, *extra: str | Path, problem: str) -> dict[str, object]:
    result = verify_cli(database_url, *extra)
    assert result.code == 1, (result.out, result.err)
    data = result.json()
    assert data["ok"] is False
    (report,) = data["ledgers"]
    assert report["ok"] is False
    failure: dict[str, object] = report["failure"]
    assert problem in str(failure["problem"]), failure
    plain = run_cli("verify", "--db", database_url, *extra)
    assert plain.code == 1
    assert plain.out.startswith("FAIL  ")
    assert problem in plain.out
    return failure


# -- (a) truncation ------------------------------------------------------------------------


def test_truncated_tail_is_detected_by_the_stored_checkpoint(
    published: OpenLedger, database_url: str
) -> None:
    db = published.db
    truncate(db, CUT, checkpoints=False)
    assert len(rows_of(db)) == CUT
    assert TreeStore(db, ORIGIN).size() == CUT  # the tree was cut back consistently

    report = verify_ledger(db, ORIGIN)
    assert report.failure is not None
    assert "truncated" in report.failure.problem
    assert report.failure.index == CUT
    assert f"covers {SIZES[-1]} entries but only {CUT}" in report.failure.problem
    failure = assert_fails(database_url, problem="truncated")
    assert failure["index"] == CUT


def test_truncated_entries_with_the_tree_left_in_place(
    published: OpenLedger, database_url: str
) -> None:
    db = published.db
    delete_entries(db, rows_of(db)[CUT:])
    delete_checkpoints_beyond(db, CUT)
    report = verify_ledger(db, ORIGIN)
    assert report.failure is not None
    assert f"stored tree has {SIZES[-1]} leaves but only {CUT}" in report.failure.problem
    assert_fails(database_url, problem="truncated")


def test_truncation_with_checkpoints_removed_needs_a_saved_checkpoint(
    published: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    db = published.db
    saved = saved_note(published, SIZES[-1], tmp_path)
    truncate(db, CUT, checkpoints=True)

    # the database alone is consistent again: this is why checkpoints are kept elsewhere
    report = verify_ledger(db, ORIGIN)
    assert report.ok, report.failure
    assert report.entries == CUT
    assert_ok(database_url)

    held = [("auditor", saved.read_text(encoding="utf-8"))]
    report = verify_ledger(db, ORIGIN, checkpoints=held)
    assert report.failure is not None
    assert f"auditor covers {SIZES[-1]} entries but only {CUT} are stored" in report.failure.problem
    failure = assert_fails(database_url, "--checkpoint", saved, problem="truncated")
    assert failure["index"] == CUT
    # a checkpoint the truncated log still covers is fine
    assert_ok(database_url, "--checkpoint", saved_note(published, SIZES[0], tmp_path))


# -- (b) rewritten history, re-signed with the stolen log key ----------------------------------


def test_rewritten_history_resigned_passes_alone_but_not_against_a_saved_checkpoint(
    published: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    db = published.db
    vkey = log_vkey_of(published)
    saved = [saved_note(published, size, tmp_path) for size in SIZES]
    rows = rows_of(db)

    # the attacker rewrites service/000005 (a stream with one entry, inside every
    # checkpoint), re-signs it with the actor's own key, so the entry is valid
    stream = "service/000005"
    (index,) = [i for i, r in enumerate(rows) if r.originator_id == stream]
    assert index < SIZES[0]
    old = rows[index].state
    forged = reseal(old, published.actors[CHANGSHA], fee_fen=1_200)
    assert forged.envelope.body["fee_fen"] == 1_200
    assert forged.envelope.time == decode_entry(old).envelope.time
    assert forged.raw != old

    t = tables()
    owner_sql(db, f"DELETE FROM {t.checkpoints}")
    owner_sql(db, f"DELETE FROM {t.nodes}")
    owner_sql(db, f"DELETE FROM {t.leaves}")
    replace_state(db, stream, 1, forged.raw)

    # ... and rebuilds the tree and the checkpoints at the same sizes with the log key
    tree = TreeStore(db, ORIGIN)
    previous = 0
    for size in SIZES:
        assert tree.integrate(limit=size - previous) == size
        resigned = tree.sign(published.log)
        assert resigned is not None
        assert resigned.checkpoint.size == size
        previous = size
    assert [c.checkpoint.size for c in tree.history()] == SIZES

    # the database alone now verifies: nothing inside it can tell
    report = verify_ledger(db, ORIGIN, vkey=vkey)
    assert report.ok, report.failure
    assert report.details["checkpoints_checked"] == len(SIZES)
    assert_ok(database_url)
    assert_ok(database_url, "--vkey", vkey)

    # both the old and the new checkpoints are genuinely signed by the log key
    verifier = NoteVerifier.parse(vkey)
    for path, new in zip(saved, tree.history(), strict=True):
        before = open_checkpoint(path.read_text(encoding="utf-8"), verifier)
        after = open_checkpoint(new.note, verifier)
        assert before.size == after.size
        assert before.root != after.root

    # an auditor's earlier checkpoint exposes it
    for path in saved:
        failure = assert_fails(database_url, "--checkpoint", path, problem="rewritten or forked")
        assert failure["index"] == int(path.name.rsplit("-", 1)[1]) - 1
    failure = assert_fails(
        database_url,
        "--checkpoint",
        saved[1],
        "--checkpoint",
        saved[2],
        "--vkey",
        vkey,
        problem="rewritten or forked",
    )
    assert failure["index"] == SIZES[1] - 1  # the smallest held checkpoint fails first


# -- (c) a fork: two signed checkpoints of one size ----------------------------------------------


def test_fork_two_checkpoints_of_the_same_size(
    published: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    db = published.db
    vkey = log_vkey_of(published)
    saved = saved_note(published, SIZES[-1], tmp_path)

    truncate(db, CUT, checkpoints=True)
    for n in range(500, 500 + SIZES[-1] - CUT):  # different entries up to the same size
        published.record_service(n)
    republished = published.app.publish()
    assert republished is not None

    verifier = NoteVerifier.parse(vkey)
    first = open_checkpoint(saved.read_text(encoding="utf-8"), verifier)
    second = open_checkpoint(republished.note, verifier)
    assert first.size == second.size == SIZES[-1]
    assert first.root != second.root  # two signed views of one size: a fork

    assert verify_ledger(db, ORIGIN).ok
    assert_ok(database_url)
    failure = assert_fails(database_url, "--checkpoint", saved, problem="rewritten or forked")
    assert failure["index"] == SIZES[-1] - 1
    # the fork point is after the earlier checkpoints: they still hold
    assert_ok(database_url, "--checkpoint", saved_note(published, SIZES[1], tmp_path))


def test_forged_checkpoint_file_is_refused(
    published: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    """A held checkpoint not signed by the log key is itself a failure, not ignored."""
    other = LocalSigner.generate()
    latest = TreeStore(published.db, ORIGIN).latest()
    assert latest is not None
    forged = tmp_path / "forged"
    forged.write_text(sign_note(latest.checkpoint.text(), ORIGIN, other), encoding="utf-8")
    assert_fails(database_url, "--checkpoint", forged, problem="no signature")
    unknown = tmp_path / "unknown"
    unknown.write_text(
        sign_note(Checkpoint("ledger.example.org/nowhere", 1, b"\x00" * 32).text(), "x", other),
        encoding="utf-8",
    )
    result = verify_cli(database_url, "--checkpoint", unknown)
    assert result.code == 2
    assert "nowhere" in result.err


# -- (d) the published verifier key -------------------------------------------------------------


def test_vkey_must_be_the_published_one(published: OpenLedger, database_url: str) -> None:
    vkey = log_vkey_of(published)
    assert_ok(database_url, "--vkey", vkey)
    other = verifier_key(ORIGIN, LocalSigner.generate().public_key)
    report = verify_ledger(published.db, ORIGIN, vkey=other)
    assert report.failure is not None
    assert report.failure.index == 0
    failure = assert_fails(database_url, "--vkey", other, problem="expected the published")
    assert failure["index"] == 0
