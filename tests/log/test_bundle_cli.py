"""Export bundles (FORMAT.md §6) and proofs through the command line.

``ledger export`` writes a bundle, ``ledger verify-bundle`` checks it offline (exit 0
intact, 1 tampered, 2 unreadable), ``ledger prove`` prints proofs that
``ledger verify-proof`` checks against the log's verifier key alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.core.checkpoint import Checkpoint
from ledger.core.crypto import LocalSigner
from ledger.core.note import sign_note, split_note, verifier_key
from ledger.storage import Database
from ledger.tlog import TreeStore
from tests.log.helpers import (
    OPENING_ENTRIES,
    CliResult,
    evaluate,
    log_vkey_of,
    record_and_publish,
    rows_of,
    run_cli,
)
from tests.support import ORIGIN, OpenLedger, open_ledger

BATCHES = [range(1, 9), range(9, 17), range(17, 25)]
EVALUATED = (3, 10)  # services evaluated after the second batch: version-2 entries
SIZES = [OPENING_ENTRIES + 8, OPENING_ENTRIES + 16, OPENING_ENTRIES + 24 + len(EVALUATED)]
OTHER = LocalSigner.from_seed(bytes(range(7, 39)))


def populate(ledger: OpenLedger) -> None:
    """Three published checkpoints, two chained (version 2) entries, an unpublished tail."""
    signed = record_and_publish(ledger, BATCHES[:2])
    for n in EVALUATED:
        evaluate(ledger, n)
    signed += record_and_publish(ledger, BATCHES[2:])
    assert [s.checkpoint.size for s in signed] == SIZES
    ledger.record_service(900)  # stored after the latest checkpoint: not exported
    ledger.record_service(901)


def export(url: str, out: Path, *extra: str) -> CliResult:
    return run_cli("export", "--db", url, "--out", out, *extra)


def verify_bundle_cli(path: Path, *extra: str) -> CliResult:
    return run_cli("verify-bundle", path, *extra)


def assert_intact(path: Path, *extra: str, origin: str = ORIGIN) -> dict[str, Any]:
    result = verify_bundle_cli(path, "--json", *extra)
    assert result.code == 0, (result.out, result.err)
    data = result.json()
    assert data["ok"] is True
    assert data["origin"] == origin
    plain = verify_bundle_cli(path, *extra)
    assert plain.code == 0
    assert plain.out.startswith(f"ok    {origin}: ")
    return data


def assert_tampered(path: Path, *extra: str) -> dict[str, Any]:
    result = verify_bundle_cli(path, "--json", *extra)
    assert result.code == 1, (result.out, result.err)
    data = result.json()
    assert data["ok"] is False
    assert data["failure"]["problem"]
    plain = verify_bundle_cli(path, *extra)
    assert plain.code == 1
    assert plain.out.startswith("FAIL  ")
    return data


def assert_usage(result: CliResult, *fragments: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, result.err


# -- exporting, on both databases ---------------------------------------------------------------


def test_export_writes_a_bundle_that_verifies(
    ledger: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    populate(ledger)
    db = ledger.db
    sizes = SIZES
    size = sizes[-1]
    vkey = log_vkey_of(ledger)
    out = tmp_path / "bundle"

    result = export(database_url, out)
    assert result.code == 0, result.err
    assert f"exported {size} entries of {ORIGIN} and {len(sizes)} signed" in result.out
    assert vkey in result.out

    rows = rows_of(db)
    assert len(rows) == size + 2  # the unpublished tail stays out
    data = (out / "entries.jsonl").read_bytes()
    assert data.endswith(b"\n")
    lines = data.split(b"\n")[:-1]
    assert len(lines) == size
    assert lines == [row.state for row in rows[:size]]  # exactly the stored bytes

    tree = TreeStore(db, ORIGIN)
    latest = tree.latest()
    assert latest is not None
    assert (out / "checkpoint").read_text(encoding="utf-8") == latest.note
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == sorted(
        str(s) for s in sizes[:-1]
    )
    for s in sizes[:-1]:
        signed = tree.at_size(s)
        assert signed is not None
        assert (out / "checkpoints" / str(s)).read_text(encoding="utf-8") == signed.note
    assert (out / "log.vkey").read_text(encoding="utf-8") == vkey + "\n"
    assert sorted(p.name for p in out.iterdir()) == [
        "checkpoint",
        "checkpoints",
        "entries.jsonl",
        "log.vkey",
    ]

    report = assert_intact(out)
    assert report["entries"] == size
    assert report["checkpoints_checked"] >= 3
    assert report["checkpoints_checked"] == len(sizes)
    assert report["root"] == latest.checkpoint.root.hex()
    assert_intact(out, "--vkey", vkey)

    archive = tmp_path / "bundle.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(out, arcname="bundle")
    assert assert_intact(archive, "--vkey", vkey)["checkpoints_checked"] == len(sizes)
    flat = tmp_path / "flat.tar"
    with tarfile.open(flat, "w") as tar:
        for path in sorted(out.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(out)), recursive=False)
    assert assert_intact(flat)["entries"] == size


def test_export_needs_one_ledger_named(
    ledger: OpenLedger, database_url: str, tmp_path: Path
) -> None:
    ledger.record_service(1)
    ledger.app.publish()
    other_origin = "ledger.example.org/zz-other"
    other = open_ledger(ledger.db, other_origin)
    other.record_service(1)
    other.app.publish()

    result = export(database_url, tmp_path / "both")
    assert_usage(result, "--ledger", ORIGIN, other_origin)
    assert not (tmp_path / "both").exists()

    result = export(database_url, tmp_path / "other", "--ledger", other_origin)
    assert result.code == 0, result.err
    vkey = log_vkey_of(other, other_origin)
    report = assert_intact(tmp_path / "other", "--vkey", vkey, origin=other_origin)
    assert report["entries"] == OPENING_ENTRIES + 1

    assert_usage(export(database_url, tmp_path / "x", "--ledger", "nowhere.example"), "nowhere")


def test_export_usage_errors(ledger: OpenLedger, database_url: str, tmp_path: Path) -> None:
    ledger.record_service(1)
    assert_usage(export(database_url, tmp_path / "early"), "no signed checkpoint")
    ledger.app.publish()

    full = tmp_path / "full"
    full.mkdir()
    (full / "something").write_text("x", encoding="utf-8")
    assert_usage(export(database_url, full), "not an empty directory")
    assert sorted(p.name for p in full.iterdir()) == ["something"]

    a_file = tmp_path / "file"
    a_file.write_text("x", encoding="utf-8")
    assert_usage(export(database_url, a_file), "not an empty directory")

    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(database_url, empty).code == 0  # an empty directory is fine
    assert_intact(empty)
    assert_usage(export(database_url, empty), "not an empty directory")  # not twice

    assert_usage(export(f"sqlite:///{tmp_path}/missing.sqlite3", tmp_path / "m"), "not found")


# -- one exported bundle, tampered with in many ways ---------------------------------------------


@dataclass(frozen=True)
class Exported:
    url: str
    bundle: Path
    vkey: str
    log: LocalSigner


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    """A ledger in SQLite with three checkpoints, and its exported bundle (do not modify)."""
    base = tmp_path_factory.mktemp("exported")
    url = f"sqlite:///{base}/ledger.sqlite3"
    db = Database(url)
    try:
        ledger = open_ledger(db)
        populate(ledger)
        result = export(url, base / "bundle")
        assert result.code == 0, result.err
        yield Exported(url, base / "bundle", log_vkey_of(ledger), ledger.log)
    finally:
        db.close()


@pytest.fixture
def bundle(exported: Exported, tmp_path: Path) -> Path:
    """A fresh copy of the exported bundle, to tamper with."""
    copy = tmp_path / "bundle"
    shutil.copytree(exported.bundle, copy)
    assert_intact(copy, "--vkey", exported.vkey)
    return copy


def read_lines(bundle: Path) -> list[bytes]:
    return (bundle / "entries.jsonl").read_bytes().split(b"\n")[:-1]


def write_lines(bundle: Path, lines: list[bytes]) -> None:
    (bundle / "entries.jsonl").write_bytes(b"".join(line + b"\n" for line in lines))


def _first(lines: list[bytes], needle: bytes, start: int = 0) -> tuple[int, int]:
    """(line, byte offset just after ``needle``) of the first line holding it."""
    for i in range(start, len(lines)):
        at = lines[i].find(needle)
        if at >= 0:
            return i, at + len(needle)
    raise AssertionError(f"{needle!r} is in no line")


def _other_char(current: int, alphabet: bytes) -> int:
    return alphabet[0] if current != alphabet[0] else alphabet[1]


B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
HEX = b"0123456789abcdef"


def _body_digit(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"fee_fen":', start=OPENING_ENTRIES + 2)
    return i, at, ord("9")


def _last_line_digit(lines: list[bytes]) -> tuple[int, int, int]:
    i = len(lines) - 1
    at = lines[i].find(b'"fee_fen":') + len(b'"fee_fen":') + 1
    return i, at, _other_char(lines[i][at], b"79")


def _sig(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"sig":"', start=5)
    return i, at + 20, _other_char(lines[i][at + 20], B64)


def _sig_first_char(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"sig":"', start=OPENING_ENTRIES)
    return i, at, _other_char(lines[i][at], B64)


def _prev(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"prev":"')
    assert b'"version":2' in lines[i]
    return i, at + 10, _other_char(lines[i][at + 10], HEX)


def _key_id(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"key":"', start=OPENING_ENTRIES)
    return i, at + 63, _other_char(lines[i][at + 63], HEX)


def _opening_policy(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b"hunan-sme-201")
    assert i == 0
    return i, at, ord("6")


def _stream_name(lines: list[bytes]) -> tuple[int, int, int]:
    i, at = _first(lines, b'"stream":"service/', start=OPENING_ENTRIES + 4)
    return i, at + 5, _other_char(lines[i][at + 5], b"98")


Position = Callable[[list[bytes]], tuple[int, int, int]]
POSITIONS: dict[str, Position] = {
    "body-digit": _body_digit,
    "last-line-body-digit": _last_line_digit,
    "sig": _sig,
    "sig-first-char": _sig_first_char,
    "prev-hash": _prev,
    "key-id": _key_id,
    "opening-policy": _opening_policy,
    "stream-name": _stream_name,
}


@pytest.mark.parametrize("where", POSITIONS)
def test_one_changed_byte_in_entries_fails(bundle: Path, exported: Exported, where: str) -> None:
    lines = read_lines(bundle)
    i, at, new = POSITIONS[where](lines)
    original = lines[i]
    line = bytearray(original)
    assert line[at] != new
    line[at] = new
    lines[i] = bytes(line)
    write_lines(bundle, lines)
    assert sum(a != b for a, b in zip(original, read_lines(bundle)[i], strict=True)) == 1
    report = assert_tampered(bundle)
    assert report["failure"]["index"] == i  # the changed line is named
    assert_tampered(bundle, "--vkey", exported.vkey)


def test_removed_line_fails(bundle: Path) -> None:
    lines = read_lines(bundle)
    del lines[OPENING_ENTRIES + 4]
    write_lines(bundle, lines)
    report = assert_tampered(bundle)
    assert "entries.jsonl has" in report["failure"]["problem"]


def test_extra_line_fails(bundle: Path, exported: Exported) -> None:
    db = Database(exported.url)
    try:
        tail = rows_of(db)[-1].state  # a genuine entry, just not covered by the checkpoint
    finally:
        db.close()
    write_lines(bundle, [*read_lines(bundle), tail])
    assert_tampered(bundle)


@pytest.mark.parametrize("pair", [(5, 6), (OPENING_ENTRIES + 1, OPENING_ENTRIES + 12), (0, 1)])
def test_swapped_lines_fail(bundle: Path, pair: tuple[int, int]) -> None:
    lines = read_lines(bundle)
    a, b = pair
    lines[a], lines[b] = lines[b], lines[a]
    write_lines(bundle, lines)
    assert_tampered(bundle)


def _resigned(note: str, signer: LocalSigner, root: bytes | None = None) -> str:
    checkpoint = Checkpoint.parse(split_note(note)[0])
    new_root = root if root is not None else hashlib.sha256(b"another root").digest()
    return sign_note(
        Checkpoint(checkpoint.origin, checkpoint.size, new_root).text(), ORIGIN, signer
    )


def test_checkpoint_root_changed_and_signed_by_another_key(
    bundle: Path, exported: Exported
) -> None:
    note = (bundle / "checkpoint").read_text(encoding="utf-8")
    (bundle / "checkpoint").write_text(_resigned(note, OTHER), encoding="utf-8")
    assert "no signature" in assert_tampered(bundle)["failure"]["problem"]
    assert_tampered(bundle, "--vkey", exported.vkey)
    # swapping log.vkey for the forger's key does not help: LedgerOpened names the log key
    (bundle / "log.vkey").write_text(verifier_key(ORIGIN, OTHER.public_key) + "\n")
    assert "LedgerOpened names verifier key" in assert_tampered(bundle)["failure"]["problem"]


def test_checkpoint_root_changed_and_signed_by_the_log_key(
    bundle: Path, exported: Exported
) -> None:
    note = (bundle / "checkpoint").read_text(encoding="utf-8")
    (bundle / "checkpoint").write_text(_resigned(note, exported.log), encoding="utf-8")
    assert "rewritten or forked" in assert_tampered(bundle)["failure"]["problem"]


def test_earlier_checkpoint_changed(bundle: Path, exported: Exported) -> None:
    (earlier,) = [p for p in (bundle / "checkpoints").iterdir() if p.name == str(SIZES[1])]
    earlier.write_text(_resigned(earlier.read_text(encoding="utf-8"), exported.log))
    report = assert_tampered(bundle)
    assert report["failure"]["index"] == SIZES[1] - 1
    assert "rewritten or forked" in report["failure"]["problem"]


def test_log_vkey_replaced_while_the_published_key_is_given(
    bundle: Path, exported: Exported
) -> None:
    (bundle / "log.vkey").write_text(verifier_key(ORIGIN, OTHER.public_key) + "\n")
    report = assert_tampered(bundle, "--vkey", exported.vkey)
    assert "expected the published" in report["failure"]["problem"]


def test_vkey_mismatch_fails(bundle: Path) -> None:
    assert_tampered(bundle, "--vkey", verifier_key(ORIGIN, OTHER.public_key))
    assert_tampered(bundle, "--vkey", verifier_key("ledger.example.org/other", OTHER.public_key))


def test_tampered_tar_fails(bundle: Path, tmp_path: Path) -> None:
    lines = read_lines(bundle)
    lines[7], lines[8] = lines[8], lines[7]
    write_lines(bundle, lines)
    archive = tmp_path / "tampered.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(bundle, arcname="bundle")
    assert_tampered(archive)


@pytest.mark.parametrize("missing", ["entries.jsonl", "checkpoint", "log.vkey"])
def test_missing_file_is_a_usage_error(bundle: Path, missing: str) -> None:
    (bundle / missing).unlink()
    assert_usage(verify_bundle_cli(bundle), missing, "missing")
    assert_usage(verify_bundle_cli(bundle, "--json"), missing)


def test_unreadable_bundles_are_usage_errors(tmp_path: Path) -> None:
    assert_usage(verify_bundle_cli(tmp_path / "nowhere"), "no such bundle")
    not_tar = tmp_path / "not.tar"
    not_tar.write_bytes(b"this is not a tar archive at all" * 40)
    assert_usage(verify_bundle_cli(not_tar), "not a readable tar")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_usage(verify_bundle_cli(empty), "missing")


# -- proofs ----------------------------------------------------------------------------------------


def prove(exported: Exported, tmp_path: Path, name: str, *argv: str) -> dict[str, Any]:
    result = run_cli("prove", *argv, "--db", exported.url)
    assert result.code == 0, result.err
    doc: dict[str, Any] = json.loads(result.out)
    (tmp_path / name).write_text(result.out, encoding="utf-8")
    return doc


def verify_proof(path: Path, vkey: str) -> CliResult:
    return run_cli("verify-proof", path, "--vkey", vkey)


def published_vkey(exported: Exported) -> str:
    result = run_cli("log-key", "--db", exported.url)
    assert result.code == 0, result.err
    vkey = result.out.strip()
    assert vkey == exported.vkey
    return vkey


def write_doc(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def other_hash(value: str) -> str:
    return base64.b64encode(hashlib.sha256(value.encode()).digest()).decode()


@pytest.mark.parametrize(
    ("index", "size"), [(0, None), (5, None), (SIZES[-1] - 1, None), (4, SIZES[0]), (18, SIZES[1])]
)
def test_inclusion_proof_round_trip(
    exported: Exported, tmp_path: Path, index: int, size: int | None
) -> None:
    vkey = published_vkey(exported)
    argv = ["inclusion", "--index", str(index)] + ([] if size is None else ["--size", str(size)])
    doc = prove(exported, tmp_path, "proof.json", *argv)
    assert doc["proof"] == "inclusion"
    assert doc["index"] == index
    assert doc["size"] == (size or SIZES[-1])
    result = verify_proof(tmp_path / "proof.json", vkey)
    assert result.code == 0, (result.out, result.err)
    assert result.out.startswith(f"ok    entry {index} is in {ORIGIN}")

    def check_fails(changed: dict[str, Any]) -> None:
        result = verify_proof(write_doc(tmp_path / "bad.json", changed), vkey)
        assert result.code == 1, (result.out, result.err)
        assert result.out.startswith("FAIL  ")

    check_fails({**doc, "index": (index + 1) % doc["size"]})
    check_fails({**doc, "path": [other_hash("x"), *doc["path"][1:]]})
    check_fails({**doc, "path": doc["path"][:-1]})
    check_fails({**doc, "path": [*doc["path"], other_hash("y")]})
    assert doc["entry"].count('"v":1,') == 1
    check_fails({**doc, "entry": doc["entry"].replace('"v":1,', '"v":2,')})
    check_fails({**doc, "size": doc["size"] + 1})
    assert verify_proof(tmp_path / "proof.json", verifier_key(ORIGIN, OTHER.public_key)).code == 1


@pytest.mark.parametrize(
    ("first", "second"),
    [(SIZES[0], SIZES[1]), (SIZES[0], None), (SIZES[1], SIZES[2]), (SIZES[2], None)],
)
def test_consistency_proof_round_trip(
    exported: Exported, tmp_path: Path, first: int, second: int | None
) -> None:
    vkey = published_vkey(exported)
    argv = ["consistency", "--from", str(first)]
    argv += [] if second is None else ["--to", str(second)]
    doc = prove(exported, tmp_path, "proof.json", *argv)
    assert (doc["from"], doc["to"]) == (first, second or SIZES[-1])
    result = verify_proof(tmp_path / "proof.json", vkey)
    assert result.code == 0, (result.out, result.err)
    assert result.out.startswith("ok    ")

    def check_fails(changed: dict[str, Any]) -> None:
        result = verify_proof(write_doc(tmp_path / "bad.json", changed), vkey)
        assert result.code == 1, (result.out, result.err)

    if doc["path"]:
        check_fails({**doc, "path": [other_hash("x"), *doc["path"][1:]]})
        check_fails({**doc, "path": doc["path"][:-1]})
    check_fails({**doc, "path": [*doc["path"], other_hash("y")]})
    check_fails({**doc, "from": doc["from"] - 1})
    if doc["from"] != doc["to"]:
        check_fails({**doc, "checkpoint_to": doc["checkpoint_from"]})
    forged = _resigned(doc["checkpoint_to"], OTHER)
    check_fails({**doc, "checkpoint_to": forged})
    assert verify_proof(tmp_path / "proof.json", verifier_key(ORIGIN, OTHER.public_key)).code == 1


def test_proofs_need_a_checkpoint_at_the_size(exported: Exported) -> None:
    for argv in [
        ["inclusion", "--index", "0", "--size", str(SIZES[0] + 1)],
        ["consistency", "--from", str(SIZES[0] + 1)],
        ["consistency", "--from", str(SIZES[0]), "--to", str(SIZES[-1] + 1)],
    ]:
        assert_usage(run_cli("prove", *argv, "--db", exported.url), "no signed checkpoint at size")
    assert_usage(
        run_cli("prove", "inclusion", "--index", str(SIZES[-1]), "--db", exported.url), "outside"
    )
    assert_usage(
        run_cli(
            "prove",
            "consistency",
            "--from",
            str(SIZES[2]),
            "--to",
            str(SIZES[0]),
            "--db",
            exported.url,
        ),
        "larger",
    )


def test_verify_proof_usage_errors(exported: Exported, tmp_path: Path) -> None:
    vkey = exported.vkey
    assert_usage(verify_proof(tmp_path / "missing.json", vkey), "cannot read")
    not_json = tmp_path / "not.json"
    not_json.write_text("{", encoding="utf-8")
    assert_usage(verify_proof(not_json, vkey), "not JSON")
    assert_usage(verify_proof(write_doc(tmp_path / "odd.json", {"proof": "odd"}), vkey), "proof")


@pytest.mark.parametrize("where", ["body-digit", "sig", "prev-hash", "key-id"])
def test_worker_processes_find_what_one_process_finds(
    bundle: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """Big bundles are checked on every core: the same verdict, at the same index."""
    from ledger.core import parallel
    from ledger.core.bundle import verify_bundle

    monkeypatch.setattr(parallel, "CHUNK", 7)  # many chunks even for a small bundle
    assert verify_bundle(bundle, workers=2).ok
    lines = read_lines(bundle)
    i, at, new = POSITIONS[where](lines)
    line = bytearray(lines[i])
    line[at] = new
    lines[i] = bytes(line)
    write_lines(bundle, lines)
    alone, together = verify_bundle(bundle, workers=1), verify_bundle(bundle, workers=2)
    assert alone.failure is not None
    assert together.failure is not None
    assert (together.failure.index, together.failure.problem) == (
        alone.failure.index,
        alone.failure.problem,
    )
