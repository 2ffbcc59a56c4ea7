"""Witnessing edge cases: odd 409 bodies, foreign cosignatures, restarts, content types."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

from api.cli import main
from ledger.publisher import Publisher
from ledger.tlog import TreeStore
from tests.support import ORIGIN, OpenLedger
from tests.witness.helpers import BASE, grow_to
from tests.witness.test_cosigners import Trio, cosigners, trio

__all__ = ["trio"]  # the fixture, shared with the cosigner tests


def test_a_409_without_a_size_is_a_failure_not_a_crash(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 10)
    real = trio.transport

    def odd_first(url: str, body: bytes) -> tuple[int, str, bytes]:
        if url.startswith(trio.url(0)):
            return 409, "text/x.tlog.size", b"x\n"
        return real(url, body)

    c = cosigners(ledger, trio, 1)
    c.transport = odd_first
    assert c.publish(signed) == 2
    assert "HTTP 409" in c.failures[trio.configs[0].name]


def test_only_configured_witnesses_count(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 10)
    assert cosigners(ledger, trio, 1, 0).publish(signed) == 1
    trio.transport.unreachable.add(trio.url(1))
    other = cosigners(ledger, trio, 1, 1)
    assert other.publish(signed) == 0
    assert not other.is_published(signed.checkpoint.size)


def test_failures_are_those_of_the_last_round(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 10)
    c = cosigners(ledger, trio, 1, 0)
    trio.transport.unreachable.add(trio.url(0))
    assert c.publish(signed) == 0
    assert c.failures
    trio.transport.unreachable.clear()
    assert c.publish(signed) == 1
    assert c.failures == {}


def test_publisher_restarts(ledger: OpenLedger) -> None:
    publisher = Publisher(ledger.db, ORIGIN, ledger.log, interval=0.02)
    publisher.start()
    publisher.stop()
    ledger.record_service(100)
    size = len(list(ledger.db.iter_log(ORIGIN)))
    publisher.start()
    try:
        deadline = time.monotonic() + 5
        while TreeStore(ledger.db, ORIGIN).size() < size and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        publisher.stop()
    assert TreeStore(ledger.db, ORIGIN).size() == size


def test_the_size_answer_has_exactly_the_spec_content_type(ledger: OpenLedger, trio: Trio) -> None:
    signed = grow_to(ledger, BASE + 10)
    cosigners(ledger, trio, 1, 0).publish(signed)
    body = ("old 0\n\n" + signed.note).encode()
    client = trio.transport.clients[trio.url(0)]
    response = client.post("/add-checkpoint", content=body)
    assert response.status_code == 409
    assert response.headers["content-type"] == "text/x.tlog.size"


def test_a_report_that_is_not_an_object_is_malformed(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    for content in ([1, 2], "a string", 7):
        path.write_text(json.dumps(content))
        err = io.StringIO()
        assert main(["check-report", str(path)], io.StringIO(), err) == 2
        assert "malformed" in err.getvalue()


def test_publisher_pushes_to_witnesses_and_exports_carry_cosignatures(
    ledger: OpenLedger, trio: Trio, tmp_path: Path
) -> None:
    from ledger.core.bundle import verify_bundle
    from ledger.core.checkpoint import verify_cosignature
    from ledger.export import export_bundle

    c = cosigners(ledger, trio, 2)
    publisher = Publisher(ledger.db, ORIGIN, ledger.log, cosigners=c)
    ledger.record_service(7)
    signed = publisher.publish_once()
    assert signed is not None
    assert c.is_published(signed.checkpoint.size)
    export_bundle(ledger.db, ORIGIN, tmp_path / "bundle")
    note = (tmp_path / "bundle" / "checkpoint").read_text()
    for witness in trio.configs:
        verify_cosignature(note, witness.name, witness.public_key)
    assert verify_bundle(tmp_path / "bundle").ok
