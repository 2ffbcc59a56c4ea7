"""Keys, trust and streaming log verification (FORMAT.md §4), built from in-memory logs."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Envelope, assemble_entry, decode_entry, format_time
from ledger.core.errors import ChainError, SignatureError, TrustError, VerificationError
from ledger.core.heads import StreamHeads
from ledger.core.note import verifier_key
from ledger.core.sign import seal
from ledger.core.verify import LogVerifier, Position, check_entry

ORIGIN = "ledger.example.org/hunan-sme"
ROOT = LocalSigner.from_seed(bytes([1]) * 32)
LOG_KEY = LocalSigner.from_seed(bytes([2]) * 32)
ALICE = LocalSigner.from_seed(bytes([3]) * 32)
BOB = LocalSigner.from_seed(bytes([4]) * 32)
CAROL = LocalSigner.from_seed(bytes([5]) * 32)
MALLORY = LocalSigner.from_seed(bytes([6]) * 32)  # never registered
ALL_KEYS = {s.key_id: s.public_key for s in (ROOT, LOG_KEY, ALICE, BOB, CAROL, MALLORY)}
BASE = datetime(2024, 5, 1, tzinfo=UTC)
AUTO = "auto"


def at(seconds: int, micros: int = 0) -> str:
    return format_time(BASE + timedelta(seconds=seconds, microseconds=micros))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def opening_body(origin: str = ORIGIN, roots: tuple[LocalSigner, ...] = (ROOT,)) -> dict[str, Any]:
    return {
        "origin": origin,
        "policy": "registrars: root",
        "verifier_key": verifier_key(origin, LOG_KEY.public_key),
        "root_keys": [{"key": s.key_id, "public_key": b64(s.public_key)} for s in roots],
    }


class Log:
    """Appends sealed entries, chaining each stream; ``clock`` gives increasing times."""

    def __init__(self) -> None:
        self.raws: list[bytes] = []
        self.heads: dict[str, tuple[int, str]] = {}
        self.clock = 0

    def append(
        self,
        signer: LocalSigner,
        actor: str,
        stream: str,
        type_: str,
        body: dict[str, Any],
        *,
        time: str | None = None,
        version: int | None = None,
        prev: str | None = AUTO,
        ledger: str = ORIGIN,
    ) -> int:
        head = self.heads.get(stream)
        if version is None:
            version = 1 if head is None else head[0] + 1
        if prev == AUTO:
            prev = None if head is None else head[1]
        self.clock += 1
        env = Envelope(
            ledger=ledger,
            stream=stream,
            version=version,
            prev=prev,
            type=type_,
            time=time if time is not None else at(self.clock),
            actor=actor,
            key=signer.key_id,
            body=body,
        )
        entry = seal(env, signer)
        self.raws.append(entry.raw)
        self.heads[stream] = (version, entry.hash_hex)
        return len(self.raws) - 1

    def open(self, **kwargs: Any) -> int:
        return self.append(ROOT, "root", "ledger", "LedgerOpened", opening_body(), **kwargs)

    def register(
        self, key: LocalSigner, subject: str, *, by: LocalSigner = ROOT, actor: str = "root"
    ) -> int:
        body = {
            "subject": subject,
            "key": key.key_id,
            "public_key": b64(key.public_key),
            "algorithm": "ed25519",
        }
        return self.append(by, actor, f"key/{key.key_id}", "KeyRegistered", body)

    def revoke(
        self,
        key: LocalSigner,
        revoked_at: str,
        *,
        by: LocalSigner = ROOT,
        actor: str = "root",
        time: str | None = None,
    ) -> int:
        body = {"key": key.key_id, "revoked_at": revoked_at, "reason": "test"}
        return self.append(by, actor, f"key/{key.key_id}", "KeyRevoked", body, time=time)

    def event(self, signer: LocalSigner, actor: str, **kwargs: Any) -> int:
        n = len(self.raws)
        body = {"n": n, "amount_fen": 100 * n}
        return self.append(signer, actor, f"service/{actor}", "ServiceRecorded", body, **kwargs)


def standard_log() -> Log:
    log = Log()
    log.open()
    log.register(ALICE, "alice")
    log.register(BOB, "bob")
    log.event(ALICE, "alice")
    log.event(BOB, "bob")
    log.event(ALICE, "alice")
    return log


@pytest.fixture(params=["full", "empty"])
def pubkeys(request: pytest.FixtureRequest) -> dict[str, bytes]:
    """Keys given to check_entry: all of them, or none (the verifier then checks inline)."""
    return dict(ALL_KEYS) if request.param == "full" else {}


def verify(raws: list[bytes], pubkeys: dict[str, bytes], **kwargs: Any) -> LogVerifier:
    verifier = LogVerifier(**kwargs)
    for raw in raws:
        verifier.add(check_entry(raw, pubkeys))
    return verifier


def expect(
    raws: list[bytes], pubkeys: dict[str, bytes], error: type[VerificationError], index: int
) -> VerificationError:
    with pytest.raises(VerificationError) as info:
        verify(raws, pubkeys)
    assert type(info.value) is error, info.value
    assert info.value.index == index, info.value
    # Everything before the bad entry verifies.
    verify(raws[:index], pubkeys)
    return info.value


# --- valid logs ----------------------------------------------------------------------------


def test_valid_log_passes(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    verifier = verify(log.raws, pubkeys)
    assert verifier.size == len(log.raws) == 6
    assert verifier.origin == ORIGIN
    ring = verifier.keyring
    assert ring.root_actor == "root"
    assert ring.opening is not None
    assert ring.opening.verifier_key == verifier_key(ORIGIN, LOG_KEY.public_key)
    assert {k: s.actor for k, s in ring.keys.items()} == {
        ROOT.key_id: "root",
        ALICE.key_id: "alice",
        BOB.key_id: "bob",
    }
    for stream, (version, hash_hex) in log.heads.items():
        assert verifier.heads.get(stream) == (version, bytes.fromhex(hash_hex))
    verify(log.raws, pubkeys, origin=ORIGIN)


def test_positions_are_checked(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    positions = [decode_entry(raw).envelope for raw in log.raws]
    verifier = LogVerifier()
    for raw, env in zip(log.raws, positions, strict=True):
        verifier.add(check_entry(raw, pubkeys), Position(env.stream, env.version))
    verifier = LogVerifier()
    verifier.add(check_entry(log.raws[0], pubkeys), Position("ledger", 1))
    with pytest.raises(VerificationError) as info:
        verifier.add(check_entry(log.raws[1], pubkeys), Position("ledger", 2))
    assert info.value.index == 1


def test_malformed_entry(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    raws = [*log.raws[:3], log.raws[3] + b" "]
    error = expect(raws, pubkeys, VerificationError, 3)
    assert "malformed" in str(error)


def test_several_root_keys_and_a_second_root_signer(pubkeys: dict[str, bytes]) -> None:
    log = Log()
    log.append(ROOT, "root", "ledger", "LedgerOpened", opening_body(roots=(ROOT, CAROL)))
    log.register(ALICE, "alice", by=CAROL)
    log.event(ALICE, "alice")
    verify(log.raws, pubkeys)


# --- keys ----------------------------------------------------------------------------------


def test_unregistered_key(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(MALLORY, "mallory")
    expect(log.raws, pubkeys, TrustError, bad)


def test_key_of_another_actor(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(ALICE, "bob")
    expect(log.raws, pubkeys, TrustError, bad)


def test_root_key_of_another_actor(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(ROOT, "alice")
    expect(log.raws, pubkeys, TrustError, bad)


@pytest.mark.parametrize(
    ("time", "valid"),
    [(at(199, 999_999), True), (at(200), False), (at(200, 1), False), (at(300), False)],
)
def test_entry_at_or_after_revocation(pubkeys: dict[str, bytes], time: str, valid: bool) -> None:
    log = standard_log()
    log.event(ALICE, "alice", time=at(100))
    log.revoke(ALICE, at(200), time=at(150))
    index = log.event(ALICE, "alice", time=time)
    if valid:
        verify(log.raws, pubkeys)
    else:
        expect(log.raws, pubkeys, TrustError, index)


def test_revocation_does_not_affect_other_keys(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    log.revoke(ALICE, at(200))
    log.event(BOB, "bob", time=at(300))
    verify(log.raws, pubkeys)


@pytest.mark.parametrize("revoked_at", [at(100), at(99), at(1)])
def test_revocation_at_or_before_a_signed_time(pubkeys: dict[str, bytes], revoked_at: str) -> None:
    log = standard_log()
    log.event(ALICE, "alice", time=at(100))
    bad = log.revoke(ALICE, revoked_at, time=at(150))
    expect(log.raws, pubkeys, TrustError, bad)


def test_revocation_just_after_the_last_signed_time(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    log.event(ALICE, "alice", time=at(100))
    log.revoke(ALICE, at(100, 1), time=at(150))
    verify(log.raws, pubkeys)


def test_self_revocation(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    log.revoke(ALICE, at(500), by=ALICE, actor="alice", time=at(400))
    verify(log.raws, pubkeys)
    bad = log.revoke(ALICE, at(600), time=at(450))  # already revoked
    expect(log.raws, pubkeys, TrustError, bad)


def test_self_revocation_must_not_invalidate_itself(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.revoke(ALICE, at(400), by=ALICE, actor="alice", time=at(400))
    expect(log.raws, pubkeys, TrustError, bad)


def test_revocation_by_another_actor(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.revoke(ALICE, at(500), by=BOB, actor="bob")
    expect(log.raws, pubkeys, TrustError, bad)


def test_revocation_of_unknown_key(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.revoke(MALLORY, at(500))
    expect(log.raws, pubkeys, TrustError, bad)


def test_revocation_with_non_ascii_digits(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    arabic_year = "".join(chr(0x660 + int(c)) for c in "2024")
    bad = log.revoke(ALICE, arabic_year + at(200)[4:], time=at(150))
    log.event(ALICE, "alice", time=at(300))
    expect(log.raws, pubkeys, TrustError, bad)


def test_key_registered_by_non_registrar(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.register(CAROL, "carol", by=ALICE, actor="alice")
    expect(log.raws, pubkeys, TrustError, bad)


def test_key_registered_twice(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.append(
        ROOT,
        "root",
        f"key/{ALICE.key_id}/again",
        "KeyRegistered",
        {
            "subject": "bob",
            "key": ALICE.key_id,
            "public_key": b64(ALICE.public_key),
            "algorithm": "ed25519",
        },
    )
    expect(log.raws, pubkeys, TrustError, bad)


@pytest.mark.parametrize(
    "changes",
    [
        {"key": BOB.key_id},  # not the hash of public_key
        {"algorithm": "rsa"},
        {"public_key": b64(CAROL.public_key)[:-1]},
        {"subject": ""},
        {"extra": 1},
    ],
)
def test_bad_key_registration(pubkeys: dict[str, bytes], changes: dict[str, Any]) -> None:
    log = standard_log()
    body = {
        "subject": "carol",
        "key": CAROL.key_id,
        "public_key": b64(CAROL.public_key),
        "algorithm": "ed25519",
        **changes,
    }
    bad = log.append(ROOT, "root", f"key/{CAROL.key_id}", "KeyRegistered", body)
    expect(log.raws, pubkeys, TrustError, bad)


def test_key_cannot_be_used_in_its_own_registration(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.register(CAROL, "carol", by=CAROL, actor="carol")
    expect(log.raws, pubkeys, TrustError, bad)


def test_registered_key_works_only_after_registration(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    log.register(CAROL, "carol")
    log.event(CAROL, "carol")
    verify(log.raws, pubkeys)
    early = standard_log()
    bad = early.event(CAROL, "carol")
    early.register(CAROL, "carol")
    expect(early.raws, pubkeys, TrustError, bad)


# --- signatures ----------------------------------------------------------------------------


def test_copied_signature(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    first = decode_entry(log.raws[3])  # alice's first entry
    second = decode_entry(log.raws[5])  # alice's second entry
    raws = [*log.raws[:5], assemble_entry(second.envelope_bytes, first.sig)]
    expect(raws, pubkeys, SignatureError, 5)


def test_altered_envelope_keeps_old_signature(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    entry = decode_entry(log.raws[4])
    altered = entry.envelope_bytes.replace(b'"amount_fen":400', b'"amount_fen":401')
    assert altered != entry.envelope_bytes
    raws = [*log.raws[:4], assemble_entry(altered, entry.sig), log.raws[5]]
    expect(raws, pubkeys, SignatureError, 4)


def test_signature_by_other_key_naming_registered_key(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    entry = decode_entry(log.raws[5])
    raws = [*log.raws[:5], assemble_entry(entry.envelope_bytes, BOB.sign(entry.envelope_bytes))]
    expect(raws, pubkeys, SignatureError, 5)


# --- chains --------------------------------------------------------------------------------


def test_version_gap(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(ALICE, "alice", version=4)  # head of service/alice is version 2
    expect(log.raws, pubkeys, ChainError, bad)


def test_duplicate_version(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(ALICE, "alice", version=1, prev=None)
    expect(log.raws, pubkeys, ChainError, bad)


def test_stream_not_starting_at_one(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.append(ALICE, "alice", "service/new", "ServiceRecorded", {}, version=2,
                     prev=hashlib.sha256(b"x").hexdigest())  # fmt: skip
    expect(log.raws, pubkeys, ChainError, bad)


@pytest.mark.parametrize("source", ["random", "other stream", "older entry"])
def test_wrong_prev(pubkeys: dict[str, bytes], source: str) -> None:
    log = standard_log()
    prev = {
        "random": hashlib.sha256(b"x").hexdigest(),
        "other stream": hashlib.sha256(log.raws[4]).hexdigest(),  # bob's entry
        "older entry": hashlib.sha256(log.raws[3]).hexdigest(),  # alice v1, head is v2
    }[source]
    bad = log.event(ALICE, "alice", prev=prev)
    expect(log.raws, pubkeys, ChainError, bad)


# --- origin and opening --------------------------------------------------------------------


def test_wrong_ledger_origin(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.event(ALICE, "alice", ledger="ledger.example.org/other")
    expect(log.raws, pubkeys, TrustError, bad)


def test_expected_origin_differs(pubkeys: dict[str, bytes]) -> None:
    with pytest.raises(TrustError) as info:
        verify(standard_log().raws, pubkeys, origin="ledger.example.org/other")
    assert info.value.index == 0


def test_index_0_not_ledger_opened(pubkeys: dict[str, bytes]) -> None:
    log = Log()
    log.register(ALICE, "alice")
    log.open()
    expect(log.raws, pubkeys, TrustError, 0)


def test_index_0_ordinary_event(pubkeys: dict[str, bytes]) -> None:
    log = Log()
    log.event(ROOT, "root")
    expect(log.raws, pubkeys, TrustError, 0)


@pytest.mark.parametrize(
    ("signer", "stream", "body"),
    [
        (ALICE, "ledger", opening_body()),  # not a root key
        (ROOT, "other", opening_body()),  # wrong stream
        (ROOT, "ledger", opening_body(origin="ledger.example.org/other")),  # origin != ledger
        (ROOT, "ledger", {**opening_body(), "root_keys": []}),
        (ROOT, "ledger", {**opening_body(), "extra": 1}),
        (
            ROOT,
            "ledger",
            {**opening_body(), "verifier_key": verifier_key("other", LOG_KEY.public_key)},
        ),
        (
            ROOT,
            "ledger",
            {
                **opening_body(),
                "root_keys": [{"key": ALICE.key_id, "public_key": b64(ROOT.public_key)}],
            },
        ),
    ],
)
def test_bad_opening(
    pubkeys: dict[str, bytes], signer: LocalSigner, stream: str, body: dict[str, Any]
) -> None:
    log = Log()
    log.append(signer, "root", stream, "LedgerOpened", body)
    expect(log.raws, pubkeys, TrustError, 0)


def test_second_ledger_opened(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    bad = log.open()
    expect(log.raws, pubkeys, TrustError, bad)


# --- stream heads --------------------------------------------------------------------------


def test_stream_heads_spill() -> None:
    heads = StreamHeads(capacity=4)
    try:
        values = {f"stream/{i}": (i % 7 + 1, hashlib.sha256(str(i).encode()).digest())
                  for i in range(1000)}  # fmt: skip
        for stream, (version, digest) in values.items():
            heads.put(stream, version, digest)
        assert len(heads._hot) <= 4
        for stream, value in values.items():
            assert heads.get(stream) == value
        assert heads.get("stream/unknown") is None
        # Updating spilled streams wins over their spilled values, and survives spilling again.
        for i in range(0, 1000, 3):
            heads.put(f"stream/{i}", 100 + i, b"\x01" * 32)
        for i in range(1000):
            expected = (100 + i, b"\x01" * 32) if i % 3 == 0 else values[f"stream/{i}"]
            assert heads.get(f"stream/{i}") == expected
    finally:
        heads.close()


def test_verifier_with_spilling_heads(pubkeys: dict[str, bytes]) -> None:
    log = standard_log()
    actors = [f"actor{i}" for i in range(12)]
    signers = {a: LocalSigner.from_seed(hashlib.sha256(a.encode()).digest()) for a in actors}
    keys = dict(pubkeys)
    if pubkeys:
        keys.update({s.key_id: s.public_key for s in signers.values()})
    for actor in actors:
        log.register(signers[actor], actor)
    for _ in range(3):
        for actor in actors:
            log.event(signers[actor], actor)
    heads = StreamHeads(capacity=4)
    verifier = verify(log.raws, keys, heads=heads)
    for stream, (version, hash_hex) in log.heads.items():
        assert heads.get(stream) == (version, bytes.fromhex(hash_hex))
    verifier.close()
    # A wrong prev in a stream whose head was spilled to disk is still caught.
    bad = log.event(signers["actor0"], "actor0", prev=hashlib.sha256(b"x").hexdigest())
    with pytest.raises(ChainError) as info:
        verify(log.raws, keys, heads=StreamHeads(capacity=4))
    assert info.value.index == bad
