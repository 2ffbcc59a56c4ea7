"""The log's side of witnessing: ``Cosigners`` asks witnesses to cosign, keeps their lines,
and counts a checkpoint published at k of n; on both databases.

Witnesses run in process (each its own SQLite state and FastAPI app); the transport posts
to their TestClients by URL, and can make one unreachable or answer HTTP 500.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from ledger.core.checkpoint import verify_cosignature
from ledger.core.errors import SignatureError
from ledger.core.misbehaviour import check_report, fork_report
from ledger.core.note import NoteVerifier, verify_note
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint
from ledger.witness import Witness
from ledger.witnessing import Cosigners, WitnessConfig, WitnessingError
from tests.support import ORIGIN, OpenLedger
from tests.witness.conftest import MakeWitness
from tests.witness.helpers import (
    BASE,
    ClientTransport,
    TestClient,
    client_of,
    config,
    grow_to,
    log_vkey,
    open_twin,
    request,
)


@dataclass
class Trio:
    witnesses: list[Witness]
    configs: list[WitnessConfig]
    transport: ClientTransport

    def url(self, i: int) -> str:
        return self.configs[i].url


@pytest.fixture
def trio(ledger: OpenLedger, tmp_path: Path, make_witness: MakeWitness) -> Iterator[Trio]:
    """Three witnesses trusting the ledger's log key, reachable through one transport."""
    transport = ClientTransport()
    witnesses, configs = [], []
    with ExitStack() as stack:
        for i, letter in enumerate("abc"):
            witness = make_witness(
                tmp_path / f"witness-{letter}.sqlite3",
                f"witness-{letter}.supervisor.example.cn",
                log_vkey(ledger),
            )
            url = f"https://witness-{letter}.example/tlog{i}"
            transport.clients[url] = stack.enter_context(client_of(witness))
            witnesses.append(witness)
            configs.append(config(witness, url))
        yield Trio(witnesses, configs, transport)


def cosigners(ledger: OpenLedger, trio: Trio, quorum: int, *which: int) -> Cosigners:
    chosen = [trio.configs[i] for i in (which or range(3))]
    return Cosigners(ledger.db, ORIGIN, chosen, quorum=quorum, transport=trio.transport)


def assert_cosigned(note: str, witness: WitnessConfig) -> int:
    timestamp = verify_cosignature(note, witness.name, witness.public_key)
    assert abs(timestamp - time.time()) < 60
    return timestamp


def test_publish_collects_stores_and_counts_cosignatures(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 8)
    cos = cosigners(ledger, trio, 3)
    assert cos.publish(signed) == 3
    assert cos.failures == {}
    assert len(cos.lines(BASE + 8)) == 3
    assert cos.is_published(BASE + 8)
    assert not cos.is_published(BASE + 9)  # nothing cosigned at another size

    note = cos.cosigned_note(signed)
    assert note.startswith(signed.note)
    assert verify_note(note, NoteVerifier.parse(log_vkey(ledger))) == signed.checkpoint.text()
    for witness in trio.configs:
        assert_cosigned(note, witness)
    # every witness was asked once, from size 0, and cosigned
    for i in range(3):
        assert trio.transport.calls_to(trio.url(i)) == [(0, 200)]
        assert trio.witnesses[i].latest(ORIGIN) == (BASE + 8, signed.note)

    # the cosignatures are stored: another Cosigners over the same database sees them
    again = Cosigners(ledger.db, ORIGIN, trio.configs, quorum=3, transport=trio.transport)
    assert again.lines(BASE + 8) == cos.lines(BASE + 8)
    assert again.cosigned_note(signed) == note


def test_growth_is_asked_from_the_last_cosigned_size(ledger: OpenLedger, trio: Trio) -> None:
    cos = cosigners(ledger, trio, 3)
    sizes = [BASE + 5, BASE + 9, BASE + 16, BASE + 21]
    for size in sizes:
        signed = grow_to(ledger, size)
        assert cos.publish(signed) == 3, cos.failures
        note = cos.cosigned_note(signed)
        for witness in trio.configs:
            assert_cosigned(note, witness)
    olds = [old for old, _ in trio.transport.calls_to(trio.url(1))]
    assert olds == [0, *sizes[:-1]]
    assert all(c.status == 200 for c in trio.transport.calls)
    assert [len(cos.lines(s)) for s in sizes] == [3, 3, 3, 3]


@pytest.mark.parametrize("down", ["unreachable", "answers 500"])
def test_two_of_three_is_published_with_one_witness_down(
    ledger: OpenLedger, trio: Trio, down: str
) -> None:
    dead = trio.url(2)
    (trio.transport.unreachable if down == "unreachable" else trio.transport.broken).add(dead)
    signed = grow_to(ledger, BASE + 7)
    cos = cosigners(ledger, trio, 2)
    assert cos.publish(signed) == 2
    assert cos.is_published(BASE + 7)
    failure = cos.failures[trio.configs[2].name]
    assert ("unreachable" if down == "unreachable" else "HTTP 500") in failure
    assert set(cos.failures) == {trio.configs[2].name}

    note = cos.cosigned_note(signed)
    verify_note(note, NoteVerifier.parse(log_vkey(ledger)))
    assert_cosigned(note, trio.configs[0])
    assert_cosigned(note, trio.configs[1])
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(note, trio.configs[2].name, trio.configs[2].public_key)
    # three of three is not reached; the count is of stored lines, so it holds for any reader
    assert not cosigners(ledger, trio, 3).is_published(BASE + 7)
    assert trio.witnesses[2].latest(ORIGIN) is None

    # the witness comes back: the next checkpoint is cosigned by all three
    trio.transport.unreachable.clear()
    trio.transport.broken.clear()
    later = grow_to(ledger, BASE + 12)
    back = cosigners(ledger, trio, 3)
    assert back.publish(later) == 3, back.failures
    assert back.is_published(BASE + 12)
    assert trio.transport.calls_to(dead)[-1] == (0, 200)  # asked from scratch: it had nothing


def test_quorum_must_be_possible(ledger: OpenLedger, trio: Trio) -> None:
    for quorum in (-1, 4):
        with pytest.raises(WitnessingError, match="impossible"):
            Cosigners(ledger.db, ORIGIN, trio.configs, quorum=quorum, transport=trio.transport)
    none = Cosigners(ledger.db, ORIGIN, [], quorum=0, transport=trio.transport)
    signed = grow_to(ledger, BASE + 4)
    assert none.publish(signed) == 0
    assert none.is_published(BASE + 4)


def _submit_directly(
    client: TestClient, old: int, proof: list[bytes], signed: SignedCheckpoint
) -> None:
    response = client.post("/add-checkpoint", content=request(old, proof, signed.note))
    assert response.status_code == 200, response.text


def test_a_witness_ahead_of_the_log_record_is_retried_from_its_size(
    ledger: OpenLedger, trio: Trio
) -> None:
    # witness a cosigned size 6 through another channel; this database has no line of it
    early = grow_to(ledger, BASE + 6)
    _submit_directly(trio.transport.clients[trio.url(0)], 0, [], early)
    signed = grow_to(ledger, BASE + 14)
    cos = cosigners(ledger, trio, 1, 0)
    assert cos.publish(signed) == 1, cos.failures
    assert trio.transport.calls_to(trio.url(0)) == [(0, 409), (BASE + 6, 200)]
    assert_cosigned(cos.cosigned_note(signed), trio.configs[0])
    assert trio.witnesses[0].latest(ORIGIN) == (BASE + 14, signed.note)


def test_a_witness_holding_exactly_this_checkpoint_cosigns_it_again(
    ledger: OpenLedger, trio: Trio
) -> None:
    signed = grow_to(ledger, BASE + 9)
    _submit_directly(trio.transport.clients[trio.url(1)], 0, [], signed)
    cos = cosigners(ledger, trio, 1, 1)
    assert cos.publish(signed) == 1, cos.failures
    assert trio.transport.calls_to(trio.url(1)) == [(0, 409), (BASE + 9, 200)]


def test_a_witness_past_this_checkpoint_is_a_failure(ledger: OpenLedger, trio: Trio) -> None:
    older = grow_to(ledger, BASE + 5)
    newer = grow_to(ledger, BASE + 10)
    _submit_directly(trio.transport.clients[trio.url(0)], 0, [], newer)
    cos = cosigners(ledger, trio, 1, 0)
    assert cos.publish(older) == 0
    assert not cos.is_published(BASE + 5)
    assert cos.failures[trio.configs[0].name].startswith("HTTP 409")
    assert trio.transport.calls_to(trio.url(0)) == [(0, 409)]  # no second try: it cannot help


def test_answers_without_a_valid_cosignature_are_not_kept(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 6)
    # a "witness" at b's URL that answers with c's cosignature (c's key, not b's)
    c_line = trio.witnesses[2].add_checkpoint(request(0, [], signed.note)).body

    def impostor(url: str, body: bytes) -> tuple[int, str, bytes]:
        return 200, "text/plain", c_line.encode() + b"garbage line\n"

    cos = Cosigners(ledger.db, ORIGIN, [trio.configs[1]], quorum=1, transport=impostor)
    assert cos.publish(signed) == 0
    assert cos.failures[trio.configs[1].name] == "answered without a valid cosignature"
    assert cos.lines(BASE + 6) == []
    assert cos.cosigned_note(signed) == signed.note


def test_a_fork_shown_to_two_witnesses_is_proven(
    ledger: OpenLedger, fork_db: Database, trio: Trio
) -> None:
    """Ledger X (this database) and fork Y (another database, same origin and log key)
    each get a witness to cosign size n: together the two cosigned notes prove the fork."""
    twin = open_twin(fork_db, ledger.root, ledger.log)
    x = grow_to(ledger, BASE + 11)
    y = grow_to(twin, BASE + 11)
    assert x.checkpoint.root != y.checkpoint.root

    a, b = trio.configs[0], trio.configs[1]
    cos_x = Cosigners(ledger.db, ORIGIN, [a], quorum=1, transport=trio.transport)
    cos_y = Cosigners(fork_db, ORIGIN, [b], quorum=1, transport=trio.transport)
    assert cos_x.publish(x) == 1, cos_x.failures
    assert cos_y.publish(y) == 1, cos_y.failures
    note_x, note_y = cos_x.cosigned_note(x), cos_y.cosigned_note(y)
    assert_cosigned(note_x, a)
    assert_cosigned(note_y, b)

    vkey = log_vkey(ledger)
    report = fork_report(note_x, note_y, vkey)
    assert report["reason"] == f"two different roots signed for tree size {BASE + 11}"
    assert report["origin"] == ORIGIN
    assert report["checkpoints"] == [note_x, note_y]
    assert "proof" not in report
    portable = json.loads(json.dumps(report))
    assert check_report(portable) == report["reason"]
    assert check_report(portable, vkey) == report["reason"]

    # Y shown to witness a afterwards is refused with the size it holds
    cos_y_to_a = Cosigners(fork_db, ORIGIN, [a], quorum=1, transport=trio.transport)
    cos_y_to_a.publish(y)
    assert cos_y_to_a.failures[a.name] == f"HTTP 409: {BASE + 11}"
    assert trio.transport.calls_to(a.url)[-2:] == [(0, 409), (BASE + 11, 409)]
    with pytest.raises(SignatureError, match="no cosignature"):
        verify_cosignature(cos_y_to_a.cosigned_note(y), a.name, a.public_key)
    client_a = trio.transport.clients[a.url]
    for old in (0, BASE + 11):
        response = client_a.post("/add-checkpoint", content=request(old, [], y.note))
        assert response.status_code == 409
        assert response.text == f"{BASE + 11}\n"
    assert trio.witnesses[0].latest(ORIGIN) == (BASE + 11, x.note)
