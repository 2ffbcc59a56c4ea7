"""The witnessing commands end to end on SQLite: ``witness init|trust|vkey``, ``publish`` to
a real HTTP witness (uvicorn on a loopback port), ``misbehaviour`` and ``check-report``.

Exit status (api/cli.py): 0 ok, 1 integrity failure (misbehaviour proven / report proves
nothing), 2 usage or configuration error.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from api.witness_app import create_witness_app
from ledger.core.checkpoint import Checkpoint, cosigner_vkey, verify_cosignature
from ledger.core.crypto import LocalSigner
from ledger.core.errors import SignatureError
from ledger.core.note import NoteVerifier, sign_note, verifier_key, verify_note
from ledger.storage import Database
from ledger.witness import Witness
from ledger.witnessing import WitnessConfig
from tests.log.helpers import CliResult, run_cli
from tests.support import ORIGIN, open_ledger
from tests.witness.helpers import BASE, PASSPHRASE, grow_to, log_vkey, open_twin, witness_db

NAME = "supervisor.example.cn/witness-1"
DEMO_ORIGIN = "demo.ledger.example.cn/hunan-sme-2015/run-1"


@pytest.fixture(autouse=True)
def env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSPHRASE", "keystore passphrase")
    monkeypatch.setenv("LEDGER_WITNESS_PASSPHRASE", PASSPHRASE)
    for variable in (
        "LEDGER_DATABASE_URL",
        "LEDGER_MASTER_KEY",
        "LEDGER_WITNESSES",
        "LEDGER_WITNESS_QUORUM",
    ):
        monkeypatch.delenv(variable, raising=False)


@contextmanager
def serving(witness: Witness) -> Iterator[str]:
    """The witness app on a free loopback port, in a background thread; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_witness_app(witness), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the witness server stopped while starting"
            assert time.monotonic() < deadline, "the witness server did not start"
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
    assert not thread.is_alive()


def closed_port_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there any more


def ok(result: CliResult) -> CliResult:
    assert result.code == 0, result.err
    assert "Traceback" not in result.err
    return result


def usage_error(result: CliResult, message: str) -> None:
    assert result.code == 2, (result.out, result.err)
    assert message in result.err
    assert "Traceback" not in result.err


# -- publish to a real witness over HTTP -------------------------------------------------------


def test_demo_witness_and_publish_over_http(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    ok(run_cli("demo", "--db", url, "--policy", "hunan-sme-2015", "--events", "120"))
    vkey = ok(run_cli("log-key", "--db", url)).out.strip()
    assert NoteVerifier.parse(vkey).name == DEMO_ORIGIN

    state = tmp_path / "witness.sqlite3"
    created = ok(run_cli("witness", "init", "--name", NAME, "--state", state))
    assert created.out.startswith(f"witness {NAME} created\n")
    trusted = ok(run_cli("witness", "trust", "--vkey", vkey, "--state", state))
    assert trusted.out == f"trusting log {DEMO_ORIGIN}\n"
    witness_vkey = ok(run_cli("witness", "vkey", "--state", state)).out.strip()
    assert f"cosigner key: {witness_vkey}\n" in created.out
    witness = WitnessConfig.parse(f"{witness_vkey}@http://unused.example")
    assert witness.name == NAME

    with serving(Witness(witness_db(state), PASSPHRASE)) as base:
        result = ok(
            run_cli("publish", "--db", url, "--witness", f"{witness_vkey}@{base}", "--quorum", "1")
        )
        assert result.err.splitlines()[-1] == "published: 1 of 1 witnesses cosigned (quorum 1)"
        # standard output: the signed checkpoint and the witness's cosignature line
        text = verify_note(result.out, NoteVerifier.parse(vkey))
        assert text.startswith(f"{DEMO_ORIGIN}\n")
        size = int(text.split("\n")[1])
        assert size >= 120
        timestamp = verify_cosignature(result.out, witness.name, witness.public_key)
        assert abs(timestamp - time.time()) < 60

        # with a second witness that cannot be reached: 1 of 2, published at quorum 1 only
        dead = cosigner_vkey("dead.example.cn/witness", LocalSigner.generate().public_key)
        witnesses = [
            "--witness",
            f"{witness_vkey}@{base}",
            "--witness",
            f"{dead}@{closed_port_url()}",
        ]
        again = ok(run_cli("publish", "--db", url, *witnesses, "--quorum", "1"))
        assert again.err.splitlines()[-1] == "published: 1 of 2 witnesses cosigned (quorum 1)"
        assert "witness dead.example.cn/witness:" in again.err
        assert "unreachable" in again.err
        short = ok(run_cli("publish", "--db", url, *witnesses, "--quorum", "2"))
        assert "NOT yet published: 1 of 2 witnesses cosigned (quorum 2)" in short.err

    # the witness's own state remembers what it cosigned
    reopened = Witness(witness_db(state), PASSPHRASE)
    try:
        latest = reopened.latest(DEMO_ORIGIN)
        assert latest is not None
        assert latest[0] == size
    finally:
        reopened.db.close()


def test_publish_needs_the_keystore_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LEDGER_KEYSTORE_PASSPHRASE")
    url = f"sqlite:///{tmp_path}/none.sqlite3"
    usage_error(run_cli("publish", "--db", url), "LEDGER_KEYSTORE_PASSPHRASE")


@pytest.mark.parametrize(
    "spec",
    [
        "no-at-sign",
        "name+00000000+AAAA@http://x",
        cosigner_vkey("w", bytes(32)) + "@",
        verifier_key("w", bytes(32)) + "@http://x",  # a note key (0x01), not a cosigner key
    ],
)
def test_publish_refuses_a_malformed_witness(tmp_path: Path, spec: str) -> None:
    url = f"sqlite:///{tmp_path}/none.sqlite3"
    usage_error(run_cli("publish", "--db", url, "--witness", spec), "ledger publish:")


# -- the witness's own commands ------------------------------------------------------------------


def test_witness_init_twice_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "w.sqlite3"
    first = ok(run_cli("witness", "init", "--name", NAME, "--state", state))
    usage_error(
        run_cli("witness", "init", "--name", "other.example", "--state", state),
        "already has an identity",
    )
    # the first identity is untouched
    assert f"cosigner key: {ok(run_cli('witness', 'vkey', '--state', state)).out}" in first.out


@pytest.mark.parametrize("action", ["init", "vkey", "trust"])
def test_witness_commands_need_the_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, action: str
) -> None:
    state = tmp_path / "w.sqlite3"
    if action != "init":
        ok(run_cli("witness", "init", "--name", NAME, "--state", state))
    monkeypatch.delenv("LEDGER_WITNESS_PASSPHRASE")
    extra = {
        "init": ["--name", NAME],
        "vkey": [],
        "trust": ["--vkey", verifier_key(ORIGIN, bytes(32))],
    }[action]
    usage_error(
        run_cli("witness", action, *extra, "--state", state), "set LEDGER_WITNESS_PASSPHRASE"
    )
    monkeypatch.setenv("LEDGER_WITNESS_PASSPHRASE", "")
    usage_error(
        run_cli("witness", action, *extra, "--state", state), "set LEDGER_WITNESS_PASSPHRASE"
    )
    if action == "init":  # the refused init left nothing in the way
        monkeypatch.setenv("LEDGER_WITNESS_PASSPHRASE", PASSPHRASE)
        ok(run_cli("witness", "init", "--name", NAME, "--state", state))


def test_witness_with_a_wrong_passphrase_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state = tmp_path / "w.sqlite3"
    ok(run_cli("witness", "init", "--name", NAME, "--state", state))
    monkeypatch.setenv("LEDGER_WITNESS_PASSPHRASE", "not the passphrase")
    usage_error(run_cli("witness", "vkey", "--state", state), "wrong keystore passphrase")


def test_witness_without_state_exits_2(tmp_path: Path) -> None:
    state = tmp_path / "missing.sqlite3"
    usage_error(run_cli("witness", "vkey", "--state", state), "run `ledger witness init` first")
    assert not state.exists()


def test_witness_trust_refuses_a_malformed_vkey(tmp_path: Path) -> None:
    state = tmp_path / "w.sqlite3"
    ok(run_cli("witness", "init", "--name", NAME, "--state", state))
    usage_error(run_cli("witness", "trust", "--vkey", "nonsense", "--state", state), "--vkey")


# -- misbehaviour reports -----------------------------------------------------------------------


SMALL, LARGE = BASE + 6, BASE + 10


@dataclass
class Notes:
    """Signed checkpoints of one log key: x6 and x10 of ledger X, y10 of its fork Y (at
    sizes ``SMALL`` and ``LARGE``: 6 and 10 entries past the opening ones)."""

    dir: Path
    url: str
    vkey: str
    x6: Path
    x10: Path
    y10: Path


@pytest.fixture
def notes(tmp_path: Path) -> Iterator[Notes]:
    url = f"sqlite:///{tmp_path}/ledger.sqlite3"
    db, fork_db = Database(url), Database(f"sqlite:///{tmp_path}/fork.sqlite3")
    try:
        ledger = open_ledger(db)
        twin = open_twin(fork_db, ledger.root, ledger.log)
        paths = {}
        for name, source, size in (
            ("x6", ledger, SMALL),
            ("x10", ledger, LARGE),
            ("y10", twin, LARGE),
        ):
            paths[name] = tmp_path / f"{name}.note"
            paths[name].write_text(grow_to(source, size).note, encoding="utf-8")
        yield Notes(tmp_path, url, log_vkey(ledger), paths["x6"], paths["x10"], paths["y10"])
    finally:
        db.close()
        fork_db.close()


def misbehaviour(notes: Notes, first: Path, second: Path, *extra: str | Path) -> CliResult:
    return run_cli("misbehaviour", first, second, "--vkey", notes.vkey, *extra)


def write_report(notes: Notes, result: CliResult, name: str = "report.json") -> Path:
    path = notes.dir / name
    path.write_text(result.out, encoding="utf-8")
    return path


def test_equal_checkpoints_show_no_misbehaviour(notes: Notes) -> None:
    result = misbehaviour(notes, notes.x10, notes.x10)
    assert result.code == 0
    assert result.out == ""
    assert f"no misbehaviour shown: both checkpoints agree at size {LARGE}" in result.err


def test_different_sizes_need_a_proof_and_a_valid_one_shows_nothing(notes: Notes) -> None:
    result = misbehaviour(notes, notes.x10, notes.x6)
    assert result.code == 0
    assert "a consistency proof is needed" in result.err
    proof = notes.dir / "proof.json"
    proof.write_text(
        ok(
            run_cli(
                "prove", "consistency", "--db", notes.url, "--from", str(SMALL), "--to", str(LARGE)
            )
        ).out,
        encoding="utf-8",
    )
    result = misbehaviour(notes, notes.x6, notes.x10, "--proof", proof)
    assert result.code == 0
    assert f"size {SMALL} is consistent with size {LARGE}" in result.err


def test_a_fork_is_reported_and_the_report_checks(notes: Notes) -> None:
    result = misbehaviour(notes, notes.x10, notes.y10)
    assert result.code == 1, result.err
    report = result.json()
    assert report["kind"] == "ledger-misbehaviour/v1"
    assert report["reason"] == f"two different roots signed for tree size {LARGE}"
    assert report["vkey"] == notes.vkey
    assert report["checkpoints"] == [
        notes.x10.read_text(encoding="utf-8"),
        notes.y10.read_text(encoding="utf-8"),
    ]
    path = write_report(notes, result)
    checked = ok(run_cli("check-report", path))
    assert checked.out == (
        f"ok    misbehaviour proven: two different roots signed for tree size {LARGE}\n"
    )
    ok(run_cli("check-report", path, "--vkey", notes.vkey))


def test_a_failing_proof_is_reported_and_the_report_checks(notes: Notes) -> None:
    doc = json.loads(
        ok(
            run_cli(
                "prove", "consistency", "--db", notes.url, "--from", str(SMALL), "--to", str(LARGE)
            )
        ).out
    )
    first = doc["path"][0]
    doc["path"][0] = ("B" if first[0] == "A" else "A") + first[1:]
    proof = notes.dir / "bad-proof.json"
    proof.write_text(json.dumps(doc), encoding="utf-8")
    result = misbehaviour(notes, notes.x10, notes.x6, "--proof", proof)
    assert result.code == 1, result.err
    report = result.json()
    assert report["reason"].startswith(f"the log's consistency proof from {SMALL} to {LARGE} fails")
    assert report["proof"] == doc["path"]
    checked = ok(run_cli("check-report", write_report(notes, result)))
    assert f"misbehaviour proven: the log's consistency proof from {SMALL} to {LARGE} fails" in (
        checked.out
    )


def _change_root_char(note: str) -> str:
    origin, size, root, rest = note.split("\n", 3)
    changed = ("B" if root[0] == "A" else "A") + root[1:]
    return "\n".join([origin, size, changed, rest])


def test_a_tampered_report_proves_nothing(notes: Notes) -> None:
    """One changed character of a root: the log's signature covers the checkpoint text, so
    the note no longer verifies. That is a verification failure (exit 1, "proves nothing"),
    not a malformed report (2): the report still parses, its contents fail to check."""
    report = misbehaviour(notes, notes.x10, notes.y10).json()
    first, second = report["checkpoints"]
    tampered = {**report, "checkpoints": [_change_root_char(first), second]}
    with pytest.raises(SignatureError):
        verify_note(tampered["checkpoints"][0], NoteVerifier.parse(notes.vkey))
    path = notes.dir / "tampered.json"
    path.write_text(json.dumps(tampered), encoding="utf-8")
    result = run_cli("check-report", path)
    assert result.code == 1, result.err
    assert result.out.startswith("FAIL  the report proves nothing: note signature by ")
    assert "does not verify" in result.out


@pytest.mark.parametrize("change", ["another log's vkey", "the same note twice"])
def test_a_report_that_proves_nothing_exits_1(notes: Notes, change: str) -> None:
    report = misbehaviour(notes, notes.x10, notes.y10).json()
    vkey = None
    if change == "another log's vkey":
        vkey = verifier_key(ORIGIN, LocalSigner.generate().public_key)
    else:
        report["checkpoints"] = [report["checkpoints"][0]] * 2
    path = notes.dir / "changed.json"
    path.write_text(json.dumps(report), encoding="utf-8")
    result = run_cli("check-report", path, *(["--vkey", vkey] if vkey else []))
    assert result.code == 1, result.err
    assert result.out.startswith("FAIL  the report proves nothing:")


MALFORMED_REPORTS = {
    "not JSON": "{not json",
    "another kind": json.dumps({"kind": "something/v1", "checkpoints": ["a", "b"]}),
    "one checkpoint": json.dumps({"kind": "ledger-misbehaviour/v1", "checkpoints": ["a"]}),
    "no vkey": None,
    "not a signed note": None,
    "proof not a list": None,
    "proof hash not base64": None,
}


@pytest.mark.parametrize("case", sorted(MALFORMED_REPORTS))
def test_a_malformed_report_exits_2(notes: Notes, case: str) -> None:
    text = MALFORMED_REPORTS[case]
    if text is None:
        report = misbehaviour(notes, notes.x10, notes.y10).json()
        if case == "no vkey":
            del report["vkey"]
        elif case == "not a signed note":
            report["checkpoints"][0] = "just some text\n"
        elif case == "proof not a list":
            report["proof"] = "AAAA"
        else:
            report["proof"] = ["not base64!"]
        text = json.dumps(report)
    path = notes.dir / "malformed.json"
    path.write_text(text, encoding="utf-8")
    usage_error(run_cli("check-report", path), "malformed report")


def test_unreadable_files_exit_2(notes: Notes) -> None:
    missing = notes.dir / "missing.note"
    binary = notes.dir / "binary.note"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    usage_error(misbehaviour(notes, missing, notes.x10), f"cannot read {missing}")
    usage_error(misbehaviour(notes, notes.x10, binary), f"cannot read {binary}")
    usage_error(misbehaviour(notes, notes.x10, notes.dir), "cannot read")
    usage_error(
        misbehaviour(notes, notes.x6, notes.x10, "--proof", missing), f"cannot read {missing}"
    )
    not_a_proof = notes.dir / "not-a-proof.json"
    not_a_proof.write_text('{"proof": "consistency"}', encoding="utf-8")
    usage_error(
        misbehaviour(notes, notes.x6, notes.x10, "--proof", not_a_proof),
        "not a consistency proof document",
    )
    usage_error(run_cli("check-report", missing), f"cannot read {missing}")
    usage_error(run_cli("check-report", notes.dir), "cannot read")
    usage_error(run_cli("check-report", binary), f"cannot read {binary}")


def test_misbehaviour_refuses_what_is_not_a_signed_checkpoint(notes: Notes) -> None:
    garbage = notes.dir / "garbage.note"
    garbage.write_text("not a note at all\n", encoding="utf-8")
    usage_error(misbehaviour(notes, notes.x10, garbage), "not a signed checkpoint of that log")
    # a well-formed note by another key proves nothing about this log: exit 0
    other = notes.dir / "other.note"
    text = Checkpoint(ORIGIN, LARGE, bytes(32)).text()
    other.write_text(sign_note(text, ORIGIN, LocalSigner.generate()), encoding="utf-8")
    result = misbehaviour(notes, notes.x10, other)
    assert result.code == 0
    assert "no misbehaviour shown: note has no signature by" in result.err
