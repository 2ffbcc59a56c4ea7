"""Benchmarks of the verifiable log (issue: Merkle tree, checkpoints, bundles).

    python scripts/bench_log.py proofs  [--size 1000000] [--db URL]
    python scripts/bench_log.py bundle  [--entries 1000000] [--dir DIR] [--workers N]
    python scripts/bench_log.py latency [--db URL] [--clients 8] [--seconds 10]

``proofs`` stores a tree of SIZE leaves (the tree tables only: proof cost does not
depend on entry bytes) and times inclusion and consistency proofs server-side.
``bundle`` writes a valid export bundle of signed entries and times ``verify-bundle``.
``latency`` appends from concurrent clients while a publisher runs, and measures the
time from each append's acknowledgement to the first signed checkpoint covering it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import shutil
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from ledger.app import LedgerApplication
from ledger.core.bundle import verify_bundle
from ledger.core.checkpoint import Checkpoint
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Envelope, b64encode, format_time
from ledger.core.merkle import CompactRange
from ledger.core.note import sign_note, verifier_key
from ledger.core.sign import seal
from ledger.core.trust import key_stream
from ledger.domain.services import ServiceRecord
from ledger.keystore import MemorySigners
from ledger.publisher import Publisher
from ledger.storage import Database
from ledger.tlog import TreeStore
from scripts.bench_world import BenchWorld, onboard, today

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/test"


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fresh(url: str) -> tuple[str, Callable[[], None]]:
    """A database URL no one else uses (a new SQLite file, or a new PostgreSQL schema), and
    what removes it."""
    if url.startswith("sqlite"):
        folder = Path(tempfile.mkdtemp(prefix="bench-log-"))
        return f"sqlite:///{folder / 'tree.sqlite3'}", lambda: shutil.rmtree(folder, True)
    schema = "bench_log_" + uuid.uuid4().hex[:10]

    def drop() -> None:
        with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    return f"{url}{'&' if '?' in url else '?'}schema={schema}", drop


def bench_proofs(size: int, url: str, samples: int) -> None:
    db_url, drop = _fresh(url)
    db = Database(db_url)
    try:
        tree = TreeStore(db, "bench.example.org/proofs")
        started = time.perf_counter()
        compact = CompactRange()
        leaves: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        for i in range(size):
            leaf = hashlib.sha256(b"\x00" + i.to_bytes(8, "big")).digest()
            for (level, idx), value in compact.append(leaf):
                (leaves if level == 0 else nodes).append(
                    (idx, idx, value) if level == 0 else (level, idx, value)
                )
            if len(leaves) >= 50_000 or i == size - 1:
                with db.transaction() as tx:
                    tx.executemany(
                        f"INSERT INTO {tree.leaves} (idx, notification_id, hash) VALUES (?, ?, ?)",
                        leaves,
                    )
                    tx.executemany(
                        f"INSERT INTO {tree.nodes} (level, idx, hash) VALUES (?, ?, ?)", nodes
                    )
                leaves, nodes = [], []
        print(
            f"stored a tree of {size:,} leaves on {db.describe()} "
            f"in {time.perf_counter() - started:.1f} s"
        )
        rng = random.Random(7)  # noqa: S311 - benchmark sampling
        assert tree.root(size) == compact.root()  # noqa: S101 - the stored tree is right

        def inclusion() -> None:
            tree.inclusion(rng.randrange(size), size)

        def consistency() -> None:
            tree.consistency(rng.randrange(1, size), size)

        for name, make in (("inclusion", inclusion), ("consistency", consistency)):
            times = []
            for _ in range(samples):
                t = time.perf_counter()
                make()
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"{name:12} proof at {size:,}: p50 {statistics.median(times):.3f} ms, "
                f"p99 {_pct(times, 0.99):.3f} ms ({samples} proofs)"
            )
    finally:
        db.close()
        drop()


def _write_bundle(entries: int, directory: Path) -> str:
    origin = "bench.example.org/bundle"
    root, log = LocalSigner.generate(), LocalSigner.generate()
    actors = {f"platform/{i:02d}": LocalSigner.generate() for i in range(20)}
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    heads: dict[str, tuple[int, str]] = {}
    compact = CompactRange()
    count = 0

    def write(
        f: object, stream: str, type_: str, actor: str, signer: LocalSigner, body: dict[str, object]
    ) -> None:
        nonlocal moment, count
        version, prev = heads.get(stream, (0, None))
        moment += timedelta(milliseconds=1)
        env = Envelope(
            ledger=origin,
            stream=stream,
            version=version + 1,
            prev=prev,
            type=type_,
            time=format_time(moment),
            actor=actor,
            key=signer.key_id,
            body=body,
        )
        entry = seal(env, signer)
        heads[stream] = (version + 1, entry.hash_hex)
        compact.push(entry.leaf_hash)
        f.write(entry.raw + b"\n")  # type: ignore[attr-defined]
        count += 1

    with (directory / "entries.jsonl").open("wb") as f:
        write(
            f,
            "ledger",
            "LedgerOpened",
            "root",
            root,
            {
                "origin": origin,
                "policy": "hunan-sme-2015",
                "verifier_key": verifier_key(origin, log.public_key),
                "root_keys": [{"key": root.key_id, "public_key": b64encode(root.public_key)}],
            },
        )
        for actor, signer in actors.items():
            write(
                f,
                key_stream(signer.key_id),
                "KeyRegistered",
                "root",
                root,
                {
                    "subject": actor,
                    "key": signer.key_id,
                    "public_key": b64encode(signer.public_key),
                    "algorithm": "ed25519",
                },
            )
        names = list(actors)
        n = 0
        while count < entries:
            n += 1
            actor = names[n % len(names)]
            write(
                f,
                f"service/{n // 3:07d}",
                "ServiceRecorded" if n % 3 == 0 else "ServiceEvaluated",
                actor,
                actors[actor],
                {
                    "item": "管理咨询",
                    "enterprises": [f"enterprise/{n % 5000:05d}"],
                    "fee_fen": 120_000,
                    "evidence": [{"type": "合同", "sha256": "ab" * 32}],
                },
            )
            if count % 100_000 == 0:
                print(f"  written {count:,} entries", flush=True)
    checkpoint = Checkpoint(origin, count, compact.root())
    (directory / "checkpoint").write_text(sign_note(checkpoint.text(), origin, log))
    vkey = verifier_key(origin, log.public_key)
    (directory / "log.vkey").write_text(vkey + "\n")
    return vkey


def bench_bundle(entries: int, directory: Path | None, workers: int | None) -> None:
    target = directory or Path(tempfile.mkdtemp(prefix="bench-bundle-"))
    target.mkdir(parents=True, exist_ok=True)
    if not (target / "checkpoint").exists():
        started = time.perf_counter()
        _write_bundle(entries, target)
        print(f"wrote a bundle of {entries:,} entries in {time.perf_counter() - started:.0f} s")
    else:
        print(f"reusing the bundle in {target} (--entries does not apply)")
    before = os.times()
    report = verify_bundle(target, workers=workers)
    after = os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user and system time, this process and workers
    rate = report.entries / max(report.seconds, 1e-9)
    print(
        f"verify-bundle: {report.entries:,} entries in {report.seconds:.1f} s = "
        f"{rate:,.0f} entries/s, ok={report.ok}" + ("" if report.ok else f" ({report.failure})")
    )
    print(  # unlike the rate, CPU time an entry hardly depends on other load on the machine
        f"CPU time {cpu:.1f} s: {cpu / max(report.entries, 1) * 1e6:.0f} us an entry, "
        f"{cpu / max(report.seconds, 1e-9):.2f} cores busy on average"
    )
    print("goal >= 15,000 entries/s on two cores:", "MET" if rate >= 15_000 else "NOT MET")


def bench_latency(url: str, clients: int, seconds: float) -> None:
    db_url, drop = _fresh(url)
    db = Database(db_url)
    origin = "bench.example.org/latency"
    try:
        signers = MemorySigners()
        root, log = LocalSigner.generate(), LocalSigner.generate()
        signers.add("root", root)
        app = LedgerApplication(db, origin, signers=signers)
        app.open_ledger(
            policy="hunan-sme-2015", root_actor="root", root_signers=[root], log_signer=log
        )
        world = BenchWorld.plan(windows=clients, providers=1, members=1)
        onboard(app, signers, world)  # each client records at its own window
        item, member = world.items[0], world.members[0]
        policy = app.policy
        basis = today()
        covered: list[tuple[float, int]] = []  # (time, size) of each new checkpoint
        publisher = Publisher(
            db,
            origin,
            log,
            on_checkpoint=lambda c: covered.append((time.monotonic(), c.checkpoint.size)),
        )
        acks: list[tuple[float, int]] = []  # (ack time, notification id)
        lock = threading.Lock()
        stop = time.monotonic() + seconds

        def client(i: int) -> None:

            own = LedgerApplication(db, origin, signers=signers)
            n = 0
            while time.monotonic() < stop:
                n += 1
                stream = f"service/{i}-{n}"
                record = ServiceRecord.record(
                    policy=policy,
                    stream=stream,
                    actor=f"platform/{i}",
                    provider=item.provider,
                    platform=f"platform/{i}",
                    item=item.stream,
                    enterprises=[member],
                    channel="online",
                    charge=item.charge,
                    fee_fen=item.fee_fen,
                    evidence=[
                        {
                            "type": "合同",
                            "sha256": hashlib.sha256(stream.encode()).hexdigest(),
                            "basis_date": basis,
                            "media_type": "application/pdf",
                            "size": 1234,
                        }
                    ],
                )
                recording = own.save(record)[0]
                with lock:
                    acks.append((time.monotonic(), recording.notification.id))

        publisher.start()
        threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        time.sleep(1.5)
        publisher.stop()
        tree = TreeStore(db, origin)
        index_of = {
            nid: idx
            for idx, nid, _ in db.execute(f"SELECT idx, notification_id, hash FROM {tree.leaves}")
        }
        latencies = []
        for acked, nid in acks:
            idx = index_of.get(nid)
            when = next((t for t, size in covered if idx is not None and size > idx), None)
            latencies.append(float("inf") if when is None else max(0.0, when - acked) * 1000)
        print(
            f"{len(acks):,} appends from {clients} clients in {seconds:.0f} s "
            f"({len(acks) / seconds:,.0f}/s) on {db.describe()}"
        )
        print(
            f"append -> covering signed checkpoint: p50 {statistics.median(latencies):.0f} ms, "
            f"p99 {_pct(latencies, 0.99):.0f} ms, max {max(latencies):.0f} ms"
        )
        print(
            "goal: every entry covered within 1 s:", "MET" if max(latencies) <= 1000 else "NOT MET"
        )
    finally:
        db.close()
        drop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("proofs")
    p.add_argument("--size", type=int, default=1_000_000)
    p.add_argument("--db", default="sqlite:///")
    p.add_argument("--samples", type=int, default=1000)
    b = sub.add_parser("bundle")
    b.add_argument("--entries", type=int, default=1_000_000)
    b.add_argument("--dir", type=Path)
    b.add_argument("--workers", type=int)
    lat = sub.add_parser("latency")
    lat.add_argument("--db", default=DEFAULT_PG)
    lat.add_argument("--clients", type=int, default=8)
    lat.add_argument("--seconds", type=float, default=10)
    args = parser.parse_args(argv)
    if args.what == "proofs":
        bench_proofs(args.size, args.db, args.samples)
    elif args.what == "bundle":
        bench_bundle(args.entries, args.dir, args.workers)
    else:
        bench_latency(args.db, args.clients, args.seconds)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
