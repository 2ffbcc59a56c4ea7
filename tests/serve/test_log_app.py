"""The log server's HTTP API (api/log_app.py) on both databases: while it runs, what any
writer appends is covered by a signed checkpoint it serves; the proofs it serves are
exactly what ``ledger prove`` prints and verify offline; bad input gets a short 4xx.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from api.log_app import create_log_app
from ledger.app import LedgerApplication
from ledger.core.checkpoint import verify_cosignature
from ledger.core.proofs import check_proof
from ledger.keystore import Keystore
from ledger.serving import LogServer
from ledger.storage import ConfigurationError, Database
from tests.serve.helpers import (
    INTERVAL,
    covering,
    eventually,
    keep_log_key,
    served_checkpoint,
    vkey_of,
)
from tests.support import OPENING_ENTRIES, ORIGIN, POLICY, OpenLedger, open_ledger, run_cli
from tests.witness.helpers import (
    ClientTransport,
    TestClient,
    client_of,
    config,
    new_witness,
    record,
)

SECOND = "ledger.example.org/test-2"
THIRD = "ledger.example.org/test-3"
WITNESS = "supervisor.example.cn/witness-1"


def stored_entry(db: Database, index: int) -> bytes:
    rows = db.iter_log(ORIGIN)
    for i, row in enumerate(rows):
        if i == index:
            return row.state
    raise AssertionError(f"no entry {index}")


def proof(client: TestClient, path: str, **params: int | str) -> dict[str, Any]:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json"
    document: dict[str, Any] = response.json()
    return document


# -- coverage: entries appended while the server runs ------------------------------------------


def test_entries_appended_while_serving_are_covered_by_the_served_checkpoint(
    served: OpenLedger, client: TestClient
) -> None:
    vkey = vkey_of(served)
    assert client.get("/log-key").text == vkey + "\n"
    opened = covering(client, vkey, OPENING_ENTRIES)
    assert opened.origin == ORIGIN

    # one entry through the ledger's own application, one through another, as another
    # process appending to the same database would
    served.record_service(1)
    other = LedgerApplication(
        served.db, ORIGIN, signers=served.signers, clock=lambda: datetime.now(UTC)
    )
    record(other, 2)
    size = OPENING_ENTRIES + 2
    checkpoint = covering(client, vkey, size)
    assert checkpoint.size == size

    for index in (OPENING_ENTRIES, OPENING_ENTRIES + 1):
        document = proof(client, "/proof/inclusion", index=index)
        assert document["size"] == size
        assert document["entry"].encode() == stored_entry(served.db, index)
        assert check_proof(document, vkey) == f"entry {index} is in {ORIGIN} at size {size}"
    consistency = proof(client, "/proof/consistency", **{"from": OPENING_ENTRIES})
    assert (consistency["from"], consistency["to"]) == (OPENING_ENTRIES, size)
    check_proof(consistency, vkey)


def test_served_proofs_are_what_ledger_prove_prints_and_verify(
    served: OpenLedger, client: TestClient
) -> None:
    vkey = vkey_of(served)
    first = covering(client, vkey, OPENING_ENTRIES).size
    for n in range(3):
        served.record_service(n)
    second = covering(client, vkey, OPENING_ENTRIES + 3).size
    url = served.db.url

    for index, size in ((0, first), (first - 1, first), (first, second), (second - 1, None)):
        params = {"index": index} if size is None else {"index": index, "size": size}
        response = client.get("/proof/inclusion", params=params)
        assert response.status_code == 200, response.text
        argv = ["prove", "inclusion", "--db", url, "--index", str(index)]
        printed = run_cli(*argv, *([] if size is None else ["--size", str(size)]))
        assert printed.code == 0, printed.err
        assert response.text == printed.out
        check_proof(response.json(), vkey)

    response = client.get("/proof/consistency", params={"from": first, "to": second})
    assert response.status_code == 200, response.text
    printed = run_cli(
        "prove", "consistency", "--db", url, "--from", str(first), "--to", str(second)
    )
    assert response.text == printed.out
    summary = check_proof(response.json(), vkey)
    assert summary == f"{ORIGIN}@{first} is a prefix of {ORIGIN}@{second}"
    same = proof(client, "/proof/consistency", **{"from": second, "to": second})
    check_proof(same, vkey)


# -- what else is served -------------------------------------------------------------------------


def test_ledgers_log_key_and_health(served: OpenLedger, client: TestClient) -> None:
    vkey = vkey_of(served)
    size = covering(client, vkey, OPENING_ENTRIES).size
    response = client.get("/ledgers")
    assert response.status_code == 200
    assert response.json() == [{"origin": ORIGIN, "policy": POLICY, "vkey": vkey, "size": size}]

    key = client.get("/log-key", params={"ledger": ORIGIN})
    assert key.status_code == 200
    assert key.headers["content-type"] == "text/plain; charset=utf-8"
    assert key.text == vkey + "\n"
    run = run_cli("log-key", "--db", served.db.url)
    assert run.out == key.text

    health = client.get("/healthz")
    assert health.status_code == 200
    body = health.json()
    assert body["ok"] is True
    [publisher] = body["publishers"]
    assert publisher["origin"] == ORIGIN
    assert publisher["running"] is True
    assert publisher["size"] >= OPENING_ENTRIES
    assert publisher["errors"] == 0
    assert publisher["witness_failures"] == {}


def test_the_checkpoint_carries_the_witnesses_cosignatures(
    served: OpenLedger, keys: Keystore, tmp_path: Path
) -> None:
    vkey = vkey_of(served)
    witness = new_witness(tmp_path / "witness.sqlite3", WITNESS, vkey)
    url = "http://witness.example"
    transport = ClientTransport(clients={url: client_of(witness)})
    cosigner = config(witness, url)
    server = LogServer.open(
        served.db,
        keys,
        witnesses=[cosigner],
        quorum=1,
        interval=INTERVAL,
        transport=transport,
    )
    try:
        with TestClient(create_log_app(server)) as client:

            def cosigned() -> str | None:
                note = client.get("/checkpoint").text
                return note if note.count("\n\u2014 ") == 2 else None

            note = eventually(cosigned, "a checkpoint cosigned by the witness")
            checkpoint = served_checkpoint(client, vkey)
            assert checkpoint is not None
            assert verify_cosignature(note, cosigner.name, cosigner.public_key) > 0
            assert note.startswith(f"{ORIGIN}\n")
            health = client.get("/healthz").json()
            assert health["publishers"][0]["witness_failures"] == {}
    finally:
        witness.db.close()


def test_several_ledgers_are_served_and_must_be_named(served: OpenLedger, keys: Keystore) -> None:
    second = open_ledger(served.db, SECOND)
    keep_log_key(keys, second, SECOND)
    open_ledger(served.db, THIRD)  # its log key is not in the keystore: not served
    server = LogServer.open(served.db, keys, interval=INTERVAL)
    assert server.origins == [ORIGIN, SECOND]
    with TestClient(create_log_app(server)) as client:
        for path in ("/checkpoint", "/log-key", "/proof/inclusion?index=0"):
            response = client.get(path)
            assert response.status_code == 400, path
            assert response.text == (
                f"several ledgers are served; name one with ?ledger=ORIGIN:\n"
                f"  {ORIGIN}\n  {SECOND}\n"
            )
        first = covering(client, vkey_of(served), OPENING_ENTRIES, ledger=ORIGIN)
        other = covering(client, vkey_of(second, SECOND), OPENING_ENTRIES, ledger=SECOND)
        assert (first.origin, other.origin) == (ORIGIN, SECOND)
        assert first.root != other.root
        listed = client.get("/ledgers").json()
        assert [(x["origin"], x["vkey"]) for x in listed] == [
            (ORIGIN, vkey_of(served)),
            (SECOND, vkey_of(second, SECOND)),
        ]
        document = proof(client, "/proof/inclusion", index=0, ledger=SECOND)
        check_proof(document, vkey_of(second, SECOND))
        third = client.get("/checkpoint", params={"ledger": THIRD})
        assert third.status_code == 404
        assert third.text == f"no ledger {THIRD!r} is served here; served: {ORIGIN}, {SECOND}\n"
        health = client.get("/healthz").json()
        assert [p["origin"] for p in health["publishers"]] == [ORIGIN, SECOND]

    only = LogServer.open(served.db, keys, origins=[SECOND], interval=INTERVAL)
    with TestClient(create_log_app(only)) as client:
        assert covering(client, vkey_of(second, SECOND), OPENING_ENTRIES).origin == SECOND
    with pytest.raises(ConfigurationError, match=f"holds no log key of {THIRD}"):
        LogServer.open(served.db, keys, origins=[SECOND, THIRD])


# -- lifespan ------------------------------------------------------------------------------------


def test_shutdown_stops_the_publishers(served: OpenLedger, server: LogServer) -> None:
    with TestClient(create_log_app(server)) as client:
        covering(client, vkey_of(served), OPENING_ENTRIES)
        assert all(s.publisher.running for s in server.ledgers)
    assert not any(s.publisher.running for s in server.ledgers)
    assert not any(t.name == f"publisher {ORIGIN}" for t in threading.enumerate())


def test_without_running_publishers_it_is_unhealthy_and_has_no_checkpoint(
    server: LogServer,
) -> None:
    client = TestClient(create_log_app(server))  # no lifespan: nothing publishes
    health = client.get("/healthz")
    assert health.status_code == 503
    assert health.json()["ok"] is False
    assert health.json()["publishers"][0]["running"] is False
    assert health.json()["publishers"][0]["size"] is None
    response = client.get("/checkpoint")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.text == f"ledger {ORIGIN} has no signed checkpoint yet\n"
    assert client.get("/ledgers").json()[0]["size"] is None


# -- bad input -----------------------------------------------------------------------------------

GROWN = OPENING_ENTRIES + 1
BAD_INPUT: list[tuple[str, dict[str, str], int, str]] = [
    ("/checkpoint", {"ledger": "nope.example/x"}, 404, "no ledger 'nope.example/x' is served"),
    ("/log-key", {"ledger": "nope.example/x"}, 404, "no ledger 'nope.example/x' is served"),
    ("/proof/inclusion", {"ledger": "nope", "index": "0"}, 404, "no ledger 'nope' is served"),
    ("/proof/inclusion", {}, 400, "index is required"),
    ("/proof/inclusion", {"index": "abc"}, 400, "index: Input should be a valid integer"),
    ("/proof/inclusion", {"index": "1.5"}, 400, "index: Input should be a valid integer"),
    ("/proof/inclusion", {"index": "-1"}, 400, "index: Input should be greater than or equal"),
    (
        "/proof/inclusion",
        {"index": str(GROWN)},
        400,
        f"index {GROWN} is outside the checkpoint's tree of size {GROWN}",
    ),
    ("/proof/inclusion", {"index": "0", "size": "5"}, 400, "no signed checkpoint at size 5"),
    ("/proof/inclusion", {"index": "0", "size": "x"}, 400, "size: Input should be a valid"),
    ("/proof/inclusion", {"index": str(2**64)}, 400, "index: Input should be less than or equal"),
    ("/proof/consistency", {}, 400, "from is required"),
    ("/proof/consistency", {"from": "x"}, 400, "from: Input should be a valid integer"),
    ("/proof/consistency", {"from": "0"}, 400, "no signed checkpoint at size 0"),
    ("/proof/consistency", {"from": "3"}, 400, "no signed checkpoint at size 3"),
    (
        "/proof/consistency",
        {"from": str(GROWN), "to": str(OPENING_ENTRIES)},
        400,
        f"from size {GROWN} is larger than to size {OPENING_ENTRIES}",
    ),
    ("/proof/consistency", {"from": str(GROWN), "to": "-2"}, 400, "to: Input should be greater"),
]


def test_bad_input_gets_a_short_4xx(served: OpenLedger, client: TestClient) -> None:
    covering(client, vkey_of(served), OPENING_ENTRIES)
    served.record_service(1)
    covering(client, vkey_of(served), GROWN)
    for path, params, status, message in BAD_INPUT:
        response = client.get(path, params=params)
        case = f"{path} {params}: {response.status_code} {response.text!r}"
        assert response.status_code == status, case
        assert response.headers["content-type"] == "text/plain; charset=utf-8", case
        assert message in response.text, case
        assert "Traceback" not in response.text, case
        assert len(response.text) < 300, case
