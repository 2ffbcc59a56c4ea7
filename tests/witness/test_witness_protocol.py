"""The witness speaks c2sp.org/tlog-witness: ``POST /add-checkpoint`` through the FastAPI app.

A witness cosigns a checkpoint only when the log's signature verifies and a consistency
proof extends the checkpoint it cosigned before; it answers 409 with its size to any
other old size, and it keeps refusing rollbacks after a restart. The log here is on
SQLite only: the protocol does not depend on the log's database (the Cosigners and
Publisher tests run on both).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from api.witness_app import MAX_REQUEST, create_witness_app
from ledger.core.checkpoint import Checkpoint, verify_cosignature
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import b64encode
from ledger.core.errors import SignatureError
from ledger.core.note import (
    SIGNATURE_PREFIX,
    NoteVerifier,
    sign_note,
    signature_line,
    verifier_key,
    verify_note,
)
from ledger.keystore import KeystoreError
from ledger.storage import Database
from ledger.tlog import SignedCheckpoint, TreeStore
from ledger.witness import MAX_PROOF_LINES, Witness, WitnessError
from tests.support import ORIGIN, OpenLedger, open_ledger
from tests.witness.conftest import MakeWitness
from tests.witness.helpers import (
    BASE,
    PASSPHRASE,
    SIZE_TYPE,
    TestClient,
    config,
    grow_to,
    log_vkey,
    media_type,
    new_witness,
    open_twin,
    request,
    witness_db,
)

NAME = "supervisor.example.cn/witness-1"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[OpenLedger]:
    """The log under witness (overrides the two-database fixture: SQLite is enough here)."""
    db = Database(f"sqlite:///{tmp_path}/ledger.sqlite3")
    try:
        yield open_ledger(db)
    finally:
        db.close()


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "w.sqlite3"


@pytest.fixture
def witness(ledger: OpenLedger, state: Path, make_witness: MakeWitness) -> Iterator[Witness]:
    witness = make_witness(state, NAME, log_vkey(ledger))
    try:
        yield witness
    finally:
        witness.db.close()  # the app's lifespan may have closed it already: harmless


@pytest.fixture
def client(witness: Witness) -> Iterator[TestClient]:
    with TestClient(create_witness_app(witness)) as c:
        yield c


def add(client: TestClient, body: bytes) -> tuple[int, str, str]:
    response = client.post("/add-checkpoint", content=body)
    return response.status_code, response.headers["content-type"], response.text


def cosign(client: TestClient, old: int, proof: list[bytes], signed: SignedCheckpoint) -> str:
    status, _, body = add(client, request(old, proof, signed.note))
    assert status == 200, body
    return body


def proof(ledger: OpenLedger, m: int, n: int) -> list[bytes]:
    return TreeStore(ledger.db, ORIGIN).consistency(m, n)


def assert_size_conflict(answer: tuple[int, str, str], size: int) -> None:
    status, content_type, body = answer
    assert status == 409, body
    assert media_type(content_type) == SIZE_TYPE
    assert body == f"{size}\n"


# -- cosigning ---------------------------------------------------------------------------


def test_first_checkpoint_is_cosigned_with_one_line_near_now(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 8)
    before = int(time.time())
    status, content_type, body = add(client, request(0, [], signed.note))
    after = int(time.time())

    assert status == 200, body
    assert media_type(content_type) == "text/plain"
    assert body.endswith("\n")
    assert body.count("\n") == 1  # exactly one cosignature line
    assert body.startswith(f"{SIGNATURE_PREFIX}{NAME} ")
    # checked with the key as the witness publishes it, not with its signer object
    published = config(witness, "https://witness.example")
    assert published.name == NAME
    timestamp = verify_cosignature(signed.note + body, published.name, published.public_key)
    assert before - 1 <= timestamp <= after + 1
    # the cosigned note still verifies as the log's
    assert verify_note(signed.note + body, NoteVerifier.parse(log_vkey(ledger))) == (
        signed.checkpoint.text()
    )
    assert witness.latest(ORIGIN) == (BASE + 8, signed.note)


def test_vkey_endpoint_publishes_the_cosigner_key(witness: Witness, client: TestClient) -> None:
    response = client.get("/vkey")
    assert response.status_code == 200
    assert response.text == witness.vkey + "\n"
    assert config(witness, "https://w.example").vkey == witness.vkey


def test_growth_with_consistency_proofs_is_cosigned(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    # powers of two and odd sizes, so every shape of RFC 9162 proof is exercised
    p = 1 << (BASE - 1).bit_length()  # the first power of two the log can reach
    sizes = [p, p + 1, p + 7, p + 8, p + 13, 2 * p, 2 * p + 1, 3 * p + 1]
    old = 0
    for size in sizes:
        signed = grow_to(ledger, size)
        line = cosign(client, old, proof(ledger, old, size) if old else [], signed)
        verify_cosignature(signed.note + line, NAME, witness.signer.public_key)
        assert witness.latest(ORIGIN) == (size, signed.note)
        old = size


def test_resubmitting_the_cosigned_checkpoint_is_cosigned_again(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 6)
    cosign(client, 0, [], signed)
    line = cosign(client, BASE + 6, [], signed)  # old == size, same root, empty proof
    verify_cosignature(signed.note + line, NAME, witness.signer.public_key)
    assert witness.latest(ORIGIN) == (BASE + 6, signed.note)


# -- refusals with the witness's size (409) ---------------------------------------------------


def test_rollback_to_an_older_checkpoint_is_refused(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    older = grow_to(ledger, BASE + 5)
    cosign(client, 0, [], older)
    newer = grow_to(ledger, BASE + 11)
    cosign(client, BASE + 5, proof(ledger, BASE + 5, BASE + 11), newer)

    # the older checkpoint, claiming its own size as old: 409 with the size held
    assert_size_conflict(add(client, request(BASE + 5, [], older.note)), BASE + 11)
    # ... or from scratch
    assert_size_conflict(add(client, request(0, [], older.note)), BASE + 11)
    # claiming the stored size as old makes old exceed the checkpoint's size, which
    # c2sp.org/tlog-witness answers with 400 before looking at the witness's state
    status, _, body = add(client, request(BASE + 11, [], older.note))
    assert status == 400, body
    assert "old size exceeds checkpoint size" in body
    assert witness.latest(ORIGIN) == (BASE + 11, newer.note)


def test_stale_old_size_gets_the_current_size(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    first = grow_to(ledger, BASE + 4)
    cosign(client, 0, [], first)
    second = grow_to(ledger, BASE + 9)
    cosign(client, BASE + 4, proof(ledger, BASE + 4, BASE + 9), second)
    third = grow_to(ledger, BASE + 15)

    # a correct proof, but from a size the witness no longer holds
    assert_size_conflict(
        add(client, request(BASE + 4, proof(ledger, BASE + 4, BASE + 15), third.note)), BASE + 9
    )
    assert_size_conflict(add(client, request(0, [], third.note)), BASE + 9)
    assert witness.latest(ORIGIN) == (BASE + 9, second.note)
    # retrying from the size it reported succeeds
    cosign(client, BASE + 9, proof(ledger, BASE + 9, BASE + 15), third)
    assert witness.latest(ORIGIN) == (BASE + 15, third.note)


def test_an_old_size_on_a_fresh_witness_conflicts_with_zero(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 7)
    grow_to(ledger, BASE + 10)
    assert_size_conflict(
        add(client, request(BASE + 7, proof(ledger, BASE + 7, BASE + 10), signed.note)), 0
    )
    assert witness.latest(ORIGIN) is None


def test_fork_with_the_same_size_and_another_root_is_refused(
    ledger: OpenLedger, witness: Witness, client: TestClient, tmp_path: Path
) -> None:
    fork_db = Database(f"sqlite:///{tmp_path}/fork.sqlite3")
    try:
        twin = open_twin(fork_db, ledger.root, ledger.log)
        x = grow_to(ledger, BASE + 10)
        y = grow_to(twin, BASE + 10)
        # both are valid checkpoints of the one log key, of equal size
        verifier = NoteVerifier.parse(log_vkey(ledger))
        assert verify_note(x.note, verifier)
        assert verify_note(y.note, verifier)
        assert x.checkpoint.size == y.checkpoint.size
        assert x.checkpoint.root != y.checkpoint.root

        cosign(client, 0, [], x)
        assert_size_conflict(add(client, request(BASE + 10, [], y.note)), BASE + 10)
        assert_size_conflict(add(client, request(0, [], y.note)), BASE + 10)
        # the fork grown further: its tree does not extend the cosigned one
        y_later = grow_to(twin, BASE + 14)
        status, _, body = add(
            client, request(BASE + 10, proof(twin, BASE + 10, BASE + 14), y_later.note)
        )
        assert status == 422, body
        assert witness.latest(ORIGIN) == (BASE + 10, x.note)
    finally:
        fork_db.close()


# -- consistency proofs that fail (422) -------------------------------------------------------


def _flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 0x01]) + h[1:]


def _empty(_: list[bytes]) -> list[bytes]:
    return []


PROOF_DAMAGE: dict[str, Callable[[list[bytes]], list[bytes]]] = {
    "one hash changed": lambda p: [p[0], _flip(p[1]), *p[2:]],
    "first hash changed": lambda p: [_flip(p[0]), *p[1:]],
    "last hash dropped": lambda p: p[:-1],
    "extra hash": lambda p: [*p, p[0]],
    "empty": _empty,
    "reversed": lambda p: p[::-1],
}


@pytest.mark.parametrize("damage", sorted(PROOF_DAMAGE))
def test_a_damaged_consistency_proof_is_refused_and_changes_nothing(
    ledger: OpenLedger, witness: Witness, client: TestClient, damage: str
) -> None:
    first = grow_to(ledger, BASE + 6)
    cosign(client, 0, [], first)
    second = grow_to(ledger, BASE + 23)
    good = proof(ledger, BASE + 6, BASE + 23)
    assert len(good) >= 3
    bad = PROOF_DAMAGE[damage](good)
    assert bad != good

    status, _, body = add(client, request(BASE + 6, bad, second.note))
    assert status == 422, body
    assert "consistency proof does not verify" in body
    assert witness.latest(ORIGIN) == (BASE + 6, first.note)
    # the right proof is still accepted afterwards
    cosign(client, BASE + 6, good, second)
    assert witness.latest(ORIGIN) == (BASE + 23, second.note)


def test_a_proof_for_other_sizes_is_refused(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    first = grow_to(ledger, BASE + 6)
    cosign(client, 0, [], first)
    second = grow_to(ledger, BASE + 20)
    status, _, body = add(
        client, request(BASE + 6, proof(ledger, BASE + 5, BASE + 20), second.note)
    )
    assert status == 422, body
    assert witness.latest(ORIGIN) == (BASE + 6, first.note)


def test_a_proof_from_size_zero_must_be_empty(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 9)
    status, _, body = add(client, request(0, proof(ledger, BASE + 4, BASE + 9), signed.note))
    assert status == 422, body
    assert witness.latest(ORIGIN) is None


# -- unknown logs (404), bad signatures (403), malformed requests (400) ------------------------


def test_unknown_origin_is_404(witness: Witness, client: TestClient) -> None:
    other = "elsewhere.example.org/log"
    note = sign_note(Checkpoint(other, 3, bytes(32)).text(), other, LocalSigner.generate())
    status, _, body = add(client, request(0, [], note))
    assert status == 404, body
    assert other in body
    assert witness.latest(other) is None


def _resign_by_another_key(signed: SignedCheckpoint) -> str:
    return sign_note(signed.checkpoint.text(), ORIGIN, LocalSigner.generate())


def _change_body(signed: SignedCheckpoint) -> str:
    size = signed.checkpoint.size
    return signed.note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)


def _corrupt_signature(signed: SignedCheckpoint) -> str:
    text, _, sig_line = signed.note.rpartition("\n\n")
    name, _, blob = sig_line.removeprefix(SIGNATURE_PREFIX).strip().partition(" ")
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01  # key hash kept, signature bytes wrong
    return f"{text}\n\n{SIGNATURE_PREFIX}{name} {b64encode(bytes(raw))}\n"


def _unsigned_by_the_log(signed: SignedCheckpoint) -> str:
    # two signature lines, one even under the origin's name, neither by the log's key
    text = signed.checkpoint.text()
    return (
        text
        + "\n"
        + signature_line(ORIGIN, LocalSigner.generate(), text.encode())
        + signature_line("someone.else", LocalSigner.generate(), text.encode())
    )


FORGERIES = {
    "signed by another key": _resign_by_another_key,
    "body changed after signing": _change_body,
    "signature bytes corrupted": _corrupt_signature,
    "two foreign signatures": _unsigned_by_the_log,
}


@pytest.mark.parametrize("forgery", sorted(FORGERIES))
def test_a_checkpoint_not_signed_by_the_log_is_403(
    ledger: OpenLedger, witness: Witness, client: TestClient, forgery: str
) -> None:
    signed = grow_to(ledger, BASE + 5)
    note = FORGERIES[forgery](signed)
    with pytest.raises(SignatureError):
        verify_note(note, NoteVerifier.parse(log_vkey(ledger)))
    status, _, body = add(client, request(0, [], note))
    assert status == 403, body
    assert witness.latest(ORIGIN) is None


def _malformed(note: str) -> dict[str, bytes]:
    hash_line = b64encode(bytes(32))
    return {
        "empty body": b"",
        "no blank line": ("old 0\n" + note.replace("\n\n", "\n")).encode(),
        "note glued to the old line": ("old 0\n" + note).encode(),
        "leading zero": ("old 01\n\n" + note).encode(),
        "negative": ("old -1\n\n" + note).encode(),
        "no number": ("old\n\n" + note).encode(),
        "two spaces": ("old  0\n\n" + note).encode(),
        "trailing space": ("old 0 \n\n" + note).encode(),
        "capitalised": ("Old 0\n\n" + note).encode(),
        "hex size": ("old 0x1\n\n" + note).encode(),
        "not base64": ("old 1\n!!not base64!!\n\n" + note).encode(),
        "short hash": ("old 1\n" + b64encode(bytes(16)) + "\n\n" + note).encode(),
        "too many proof lines": (
            "old 1\n" + (hash_line + "\n") * (MAX_PROOF_LINES + 1) + "\n" + note
        ).encode(),
        "not UTF-8": b"old 0\n\n\xff\xfe" + note.encode(),
        "not a signed note": b"old 0\n\n" + note.partition("\n\n")[0].encode() + b"\n",
    }


MALFORMED = sorted(_malformed("x\n1\nAA==\n\n— x AAAAAAAA\n"))


@pytest.mark.parametrize("case", MALFORMED)
def test_a_malformed_request_is_400(
    ledger: OpenLedger, witness: Witness, client: TestClient, case: str
) -> None:
    signed = grow_to(ledger, BASE + 5)
    status, _, body = add(client, _malformed(signed.note)[case])
    assert status == 400, body
    assert body.startswith("malformed request: ")
    assert witness.latest(ORIGIN) is None


def test_a_log_signed_checkpoint_with_an_extension_line_is_400(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    """FORMAT.md §5 allows no extension lines, even in a note the log key did sign."""
    text = grow_to(ledger, BASE + 5).checkpoint.text() + "extension line\n"
    status, _, body = add(client, request(0, [], sign_note(text, ORIGIN, ledger.log)))
    assert status == 400, body
    assert body.startswith("malformed checkpoint: ")
    assert witness.latest(ORIGIN) is None


def test_refused_checkpoints_are_kept_as_evidence(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    first = grow_to(ledger, BASE + 6)
    cosign(client, 0, [], first)
    second = grow_to(ledger, BASE + 12)
    bad = request(BASE + 6, [bytes(32)] * len(proof(ledger, BASE + 6, BASE + 12)), second.note)
    assert add(client, bad)[0] == 422
    forged = request(BASE + 6, [], _resign_by_another_key(second))
    assert add(client, forged)[0] == 403
    rows = witness.db.execute("SELECT origin, request, status FROM witness_seen ORDER BY id")
    assert [(origin, status) for origin, _, status in rows] == [
        (ORIGIN, 200),
        (ORIGIN, 422),
        (ORIGIN, 403),
    ]
    assert rows[1][1] == bad.decode()  # the log's signed checkpoint with its failing proof
    assert rows[2][1] == forged.decode()


def test_the_proof_line_limit_is_inclusive(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 5)
    cosign(client, 0, [], signed)
    later = grow_to(ledger, BASE + 9)
    body = request(BASE + 5, [bytes(32)] * MAX_PROOF_LINES, later.note)
    status, _, text = add(client, body)
    assert status == 422, text  # parsed (63 lines are allowed), then the proof fails
    body = request(BASE + 5, [bytes(32)] * (MAX_PROOF_LINES + 1), later.note)
    status, _, text = add(client, body)
    assert status == 400, text


def test_old_size_above_the_checkpoint_size_is_400(
    ledger: OpenLedger, witness: Witness, client: TestClient
) -> None:
    signed = grow_to(ledger, BASE + 7)
    status, _, body = add(client, request(BASE + 8, [], signed.note))
    assert status == 400, body
    cosign(client, 0, [], signed)
    status, _, body = add(client, request(BASE + 8, [], signed.note))
    assert status == 400, body
    assert witness.latest(ORIGIN) == (BASE + 7, signed.note)


def test_an_oversized_request_is_413(witness: Witness, client: TestClient) -> None:
    status, _, body = add(client, b"old 0\n" + b"A" * (64 * 1024) + b"\n\n")
    assert status == 413
    assert body == f"request larger than {MAX_REQUEST} bytes\n"


def test_an_oversized_body_without_a_length_is_cut_off_at_the_limit(
    witness: Witness, client: TestClient
) -> None:
    """A chunked body declares no length: it is read up to the limit and no further."""

    def chunks() -> Iterator[bytes]:
        yield b"old 0\n"
        for _ in range(17):
            yield b"A" * 4096

    response = client.post("/add-checkpoint", content=chunks())
    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.text == f"request larger than {MAX_REQUEST} bytes\n"


# -- state across restarts, and concurrent submissions --------------------------------------


def test_the_witness_refuses_rollbacks_after_a_restart(ledger: OpenLedger, state: Path) -> None:
    witness = new_witness(state, NAME, log_vkey(ledger))
    vkey = witness.vkey
    older = grow_to(ledger, BASE + 6)
    newer = grow_to(ledger, BASE + 12)
    with TestClient(create_witness_app(witness)) as client:
        cosign(client, 0, [], older)
        cosign(client, BASE + 6, proof(ledger, BASE + 6, BASE + 12), newer)
    # the app's lifespan closed the state database; a new process opens the same file
    reopened = Witness(witness_db(state), PASSPHRASE)
    assert reopened.vkey == vkey
    assert reopened.latest(ORIGIN) == (BASE + 12, newer.note)
    with TestClient(create_witness_app(reopened)) as client:
        assert_size_conflict(add(client, request(BASE + 6, [], older.note)), BASE + 12)
        assert_size_conflict(add(client, request(0, [], older.note)), BASE + 12)
        latest = grow_to(ledger, BASE + 15)
        line = cosign(client, BASE + 12, proof(ledger, BASE + 12, BASE + 15), latest)
    verify_cosignature(latest.note + line, NAME, reopened.signer.public_key)


def test_the_witness_state_needs_its_identity_and_passphrase(tmp_path: Path) -> None:
    state = tmp_path / "w.sqlite3"
    with ExitStack() as stack:

        def opened(path: Path) -> Database:
            db = witness_db(path)
            stack.callback(db.close)
            return db

        with pytest.raises(WitnessError, match="no identity"):
            Witness(opened(tmp_path / "empty.sqlite3"), PASSPHRASE)
        witness = Witness.init(opened(state), PASSPHRASE, NAME)
        with pytest.raises(WitnessError, match="already has an identity"):
            Witness.init(witness.db, PASSPHRASE, "another.name")
        with pytest.raises(KeystoreError, match="wrong"):
            Witness(opened(state), "not the passphrase")
        for bad in ("", "has space", "with+plus"):
            with pytest.raises(WitnessError, match="must be non-empty"):
                Witness.init(opened(tmp_path / "other.sqlite3"), PASSPHRASE, bad)


def test_trusting_a_log_by_its_vkey(ledger: OpenLedger, tmp_path: Path) -> None:
    witness = new_witness(tmp_path / "w.sqlite3", NAME)
    try:
        signed = grow_to(ledger, BASE + 4)
        assert witness.add_checkpoint(request(0, [], signed.note)).status == 404
        assert witness.trust(log_vkey(ledger)) == ORIGIN
        answer = witness.add_checkpoint(request(0, [], signed.note))
        assert answer.status == 200, answer.body
        # re-trusting with another key (a key rotation) replaces the old one
        witness.trust(verifier_key(ORIGIN, LocalSigner.generate().public_key))
        assert witness.add_checkpoint(request(BASE + 4, [], signed.note)).status == 403
    finally:
        witness.db.close()


def test_concurrent_submissions_cosign_one_growth_once(
    ledger: OpenLedger, witness: Witness
) -> None:
    first = grow_to(ledger, BASE + 4)
    assert witness.add_checkpoint(request(0, [], first.note)).status == 200
    second = grow_to(ledger, BASE + 10)
    body = request(BASE + 4, proof(ledger, BASE + 4, BASE + 10), second.note)
    statuses: list[int] = []
    lock = threading.Lock()

    def submit() -> None:
        answer = witness.add_checkpoint(body)
        with lock:
            statuses.append(answer.status)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * 7
    assert witness.latest(ORIGIN) == (BASE + 10, second.note)
