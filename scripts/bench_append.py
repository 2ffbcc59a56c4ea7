"""Benchmark: signed ledger appends against plain eventsourcing's unsigned save.

Both sides save the same service records and evaluations on the same database, one
after the other. The ledger side writes real Hunan entries: ``ServiceRecorded``
(provider, window platform, open service item, the enterprise members served, channel,
the item's charge and fee in fen, HN 23 evidence with basis dates, and the HN 23
deadline by the working-day calendar) and ``ServiceEvaluated`` signed by the enterprise
that was served, each checked by every rule of the pack before it is sealed into a
signed, chained entry. The province they need (authorities, hub, windows, the provider
agreement, admitted providers with items, verified members with keys) is onboarded
through the real commands before each measurement, untimed (see ``bench_world``).

The plain side is an ``eventsourcing.application.Application`` with an
``eventsourcing.domain.Aggregate`` whose events carry the same fields (the deadline
computed beforehand), configured for the same server through eventsourcing's own
environment variables. Three modes:

- ``single/new``: one save per entry, each a new stream (aggregate);
- ``single/existing``: one save per entry, each an evaluation appended to an existing
  record by one of the enterprises it served (the records are saved first, untimed; the
  aggregates stay in memory);
- ``batch/<B>``: one save of B new records at a time.

Every measurement starts on fresh tables (a new ledger, a new plain application)
after a short untimed warm-up; the sides alternate which goes first. The figure
reported is the **median** of ``--repeat`` measurements (the best is in ``--json``).

Isolation: on PostgreSQL each run makes two fresh schemas (``bench_<id>_ledger``,
``bench_<id>_plain``) and drops them with ``DROP SCHEMA ... CASCADE`` at the end
(the ledger's triggers refuse TRUNCATE and DELETE, not DROP). On SQLite the file
named by the URL is not touched: fresh files are made in a new directory beside it
and removed at the end.

Exit status: 0 when the benchmark ran (whether or not the goal was met),
2 for a usage or database error.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import PersistenceError
from psycopg.sql import SQL, Composed, Identifier

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.core.errors import LedgerError
from ledger.domain.services import ServiceRecord, record_deadline
from ledger.keystore import MemorySigners
from ledger.policy import load_pack
from ledger.storage import Database, DatabaseURL
from scripts.bench_world import BenchWorld, onboard, today

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_RATIO = 1.5  # DESIGN.md: cost per entry <= 1.5x plain eventsourcing's unsigned save
WARMUP = 5
SEED = 20_151_231
POLICY = "hunan-sme-2015"
WORLD = BenchWorld.plan(windows=4, providers=12, members=40)
CHANNELS = ("offline", "online")
EVIDENCE = (
    ("合同", "application/pdf"),
    ("服务签名表", "image/jpeg"),
    ("现场照片", "image/jpeg"),
    ("二维码签到数据", "text/csv"),
    ("服务收支凭证", "application/pdf"),
)
COMMENTS = ("满意", "基本满意", "服务及时效果好", "希望增加后续辅导")


# -- the plain side's aggregate: the ledger's fields, unsigned ------------------------------


class PlainService(Aggregate):
    """The same service record as a plain eventsourcing aggregate (unsigned)."""

    class Recorded(Aggregate.Created):
        actor: str
        provider: str
        platform: str
        item: str
        enterprises: list[str]
        channel: str
        charge: str
        fee_fen: int
        evidence: list[dict[str, Any]]
        deadline: dict[str, Any] | None

        def apply(self, aggregate: Any) -> None:
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluated_by = set()

    class Evaluated(Aggregate.Event):
        actor: str
        enterprise: str
        score: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluated_by.add(self.enterprise)


class PlainServiceApp(Application[uuid.UUID]):
    """A plain application; its name (hence its table) is given per instance."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        super().__init__(env=env)


# -- synthetic data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    id: uuid.UUID
    fields: dict[str, Any]  # the command's arguments: actor and body members
    deadline: dict[str, Any] | None  # what the ledger computes; the plain side is given it


@dataclass(frozen=True)
class Evaluation:
    record: int  # which of the workload's records it evaluates
    fields: dict[str, Any]  # enterprise (who signs it), score, comment


def _evidence(rng: random.Random, day: date) -> dict[str, Any]:
    kind, media_type = rng.choice(EVIDENCE)
    return {
        "type": kind,
        "sha256": rng.randbytes(32).hex(),
        "basis_date": (day - timedelta(days=rng.randint(0, 20))).isoformat(),
        "media_type": media_type,
        "size": rng.randint(20_000, 4_000_000),
    }


def make_records(rng: random.Random, count: int, day: date) -> list[Record]:
    """Records of the world's items at its windows, for 1 to 5 of its members each."""
    policy = load_pack(POLICY)
    records = []
    for _ in range(count):
        item, window = rng.choice(WORLD.items), rng.choice(WORLD.windows)
        evidence = [_evidence(rng, day) for _ in range(rng.randint(1, 3))]
        fields = {
            "actor": window,
            "provider": item.provider,
            "platform": window,
            "item": item.stream,
            "enterprises": rng.sample(WORLD.members, rng.randint(1, 5)),
            "channel": rng.choice(CHANNELS),
            "charge": item.charge,
            "fee_fen": item.fee_fen,
            "evidence": evidence,
        }
        uid = uuid.UUID(int=rng.getrandbits(128), version=4)
        records.append(Record(uid, fields, record_deadline(policy, evidence)))
    return records


def make_evaluations(rng: random.Random, records: Sequence[Record], count: int) -> list[Evaluation]:
    """``count`` evaluations, each by an enterprise a record served (once each), of the
    fewest leading records that have that many; in turn across the records."""
    pending: list[list[str]] = []
    total = 0
    for record in records:
        if total >= count:
            break
        pending.append(list(record.fields["enterprises"]))
        total += len(pending[-1])
    if total < count:
        raise ValueError(f"{len(records)} records have fewer than {count} enterprises to evaluate")
    out: list[Evaluation] = []
    while len(out) < count:
        for n, left in enumerate(pending):
            if left and len(out) < count:
                fields = {
                    "enterprise": left.pop(0),
                    "score": rng.randint(1, 5),
                    "comment": rng.choice(COMMENTS),
                }
                out.append(Evaluation(n, fields))
    return out


@dataclass(frozen=True)
class Workload:
    records: list[Record]
    evaluations: list[Evaluation]
    warmup: list[Record]

    @property
    def evaluated(self) -> list[Record]:
        """The records the evaluations are appended to."""
        return self.records[: 1 + max(e.record for e in self.evaluations)]


def make_workload(entries: int) -> Workload:
    rng = random.Random(SEED)  # noqa: S311  (synthetic data, not secrets)
    day = date.fromisoformat(today())
    records = make_records(rng, entries, day)
    evaluations = make_evaluations(rng, records, entries)
    return Workload(records, evaluations, make_records(rng, WARMUP, day))


# -- the sides ----------------------------------------------------------------------------


class Side(Protocol):
    """One system under test, on fresh tables."""

    def create(self, record: Record) -> Any: ...

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None: ...

    def save(self, *aggregates: Any) -> None: ...

    def close(self) -> None: ...


class LedgerSide:
    """A new Hunan ledger (origin, hence table) with the bench province onboarded."""

    def __init__(self, db: Database, origin: str) -> None:
        self.db = db
        try:
            signers = MemorySigners()
            root = signers.add("root", LocalSigner.generate())
            self.app = LedgerApplication(db, origin, signers=signers)
            self.app.open_ledger(
                policy=POLICY,
                root_actor="root",
                root_signers=[root],
                log_signer=LocalSigner.generate(),
            )
            onboard(self.app, signers, WORLD)
        except BaseException:
            db.close()
            raise

    def create(self, record: Record) -> ServiceRecord:
        return ServiceRecord.record(
            policy=self.app.policy, stream=f"service/{record.id}", **record.fields
        )

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None:
        aggregate.evaluate(**evaluation.fields)

    def save(self, *aggregates: Any) -> None:
        self.app.save(*aggregates)

    def close(self) -> None:
        self.app.close()
        self.db.close()


class PlainSide:
    """A new plain eventsourcing application (hence table) in the plain schema or file."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.app = PlainServiceApp(name, env)

    def create(self, record: Record) -> PlainService:
        return PlainService._create(
            PlainService.Recorded, id=record.id, deadline=record.deadline, **record.fields
        )

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None:
        enterprise = evaluation.fields["enterprise"]
        aggregate.trigger_event(PlainService.Evaluated, actor=enterprise, **evaluation.fields)

    def save(self, *aggregates: Any) -> None:
        self.app.save(*aggregates)

    def close(self) -> None:
        self.app.close()


# -- where the sides live -------------------------------------------------------------------


@dataclass
class Target:
    """The database both sides use, and where each fresh side's tables (or files) go."""

    description: str
    ledger_url: Callable[[int], str]
    plain_env: Callable[[int], dict[str, str]]
    cleanup: Callable[[], None]
    counter: int = 0

    def side(self, system: str, mode: str) -> Side:
        self.counter += 1
        if system == "ledger":
            origin = f"bench.example.org/{mode}/{self.counter}"
            return LedgerSide(Database(self.ledger_url(self.counter)), origin)
        return PlainSide(f"PlainBench{self.counter}", self.plain_env(self.counter))


def _with_schema(url: str, schema: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "schema"]
    query.append(("schema", schema))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _pg_admin(config: DatabaseURL, statements: Sequence[Composed]) -> None:
    with psycopg.connect(
        host=config.host,
        port=config.port,
        user=config.user,
        password=config.password,
        dbname=config.dbname,
        autocommit=True,
        connect_timeout=5,
    ) as conn:
        for statement in statements:
            conn.execute(statement)


def postgres_target(url: str) -> Target:
    """Two fresh schemas; every side gets its own tables in its system's schema."""
    config = DatabaseURL.parse(url)
    run = f"bench_{time.strftime('%Y%m%d%H%M%S')}_{os.getpid()}_{secrets.token_hex(3)}"
    schemas = (f"{run}_ledger", f"{run}_plain")
    _pg_admin(config, [SQL("CREATE SCHEMA {}").format(Identifier(s)) for s in schemas])

    def drop() -> None:
        _pg_admin(
            config, [SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(s)) for s in schemas]
        )

    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": config.dbname,
        "POSTGRES_HOST": config.host,
        "POSTGRES_PORT": str(config.port),
        "POSTGRES_USER": config.user,
        "POSTGRES_PASSWORD": config.password,
        "POSTGRES_SCHEMA": schemas[1],
        "CREATE_TABLE": "y",
    }
    where = f"PostgreSQL {config.user}@{config.host}:{config.port}/{config.dbname}"
    return Target(
        f"{where}, schemas {schemas[0]}, {schemas[1]}",
        ledger_url=lambda _n: _with_schema(url, schemas[0]),
        plain_env=lambda _n: env,
        cleanup=drop,
    )


def sqlite_target(url: str) -> Target:
    """A fresh directory beside the named file; every side gets its own file in it."""
    given = Path(DatabaseURL.parse(url).path).expanduser().resolve()
    given.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{given.stem}-bench-", dir=given.parent))

    def plain_env(n: int) -> dict[str, str]:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(folder / f"plain-{n}.sqlite3"),
            "CREATE_TABLE": "y",
        }

    return Target(
        f"SQLite files in {folder}",
        ledger_url=lambda n: f"sqlite:///{folder / f'ledger-{n}.sqlite3'}",
        plain_env=plain_env,
        cleanup=lambda: shutil.rmtree(folder, ignore_errors=True),
    )


def open_target(url: str) -> Target:
    if DatabaseURL.parse(url).kind == "sqlite":
        return sqlite_target(url)
    return postgres_target(url)


# -- measurements --------------------------------------------------------------------------


def _chunks(items: Sequence[Record], size: int) -> Iterator[Sequence[Record]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def time_single_new(side: Side, work: Workload, _batch: int) -> float:
    started = time.perf_counter()
    for record in work.records:
        side.save(side.create(record))
    return time.perf_counter() - started


def time_single_existing(side: Side, work: Workload, batch: int) -> float:
    aggregates = []
    for chunk in _chunks(work.evaluated, batch):  # untimed: the streams to append to
        created = [side.create(record) for record in chunk]
        side.save(*created)
        aggregates.extend(created)
    started = time.perf_counter()
    for evaluation in work.evaluations:
        aggregate = aggregates[evaluation.record]
        side.evaluate(aggregate, evaluation)
        side.save(aggregate)
    return time.perf_counter() - started


def time_batches(side: Side, work: Workload, batch: int) -> float:
    started = time.perf_counter()
    for chunk in _chunks(work.records, batch):
        side.save(*[side.create(record) for record in chunk])
    return time.perf_counter() - started


Timer = Callable[[Side, Workload, int], float]


def modes(batch: int) -> dict[str, Timer]:
    return {
        "single/new": time_single_new,
        "single/existing": time_single_existing,
        f"batch/{batch}": time_batches,
    }


def measure(
    target: Target, system: str, mode: str, timer: Timer, work: Workload, batch: int
) -> float:
    side = target.side(system, mode)
    try:
        for record in work.warmup:
            side.save(side.create(record))
        return timer(side, work, batch)
    finally:
        side.close()


@dataclass
class Figures:
    entries: int
    ledger: list[float] = field(default_factory=list)
    plain: list[float] = field(default_factory=list)

    def seconds(self, system: str) -> list[float]:
        return self.ledger if system == "ledger" else self.plain

    def rate(self, system: str) -> float:
        return self.entries / statistics.median(self.seconds(system))

    def best_rate(self, system: str) -> float:
        return self.entries / min(self.seconds(system))

    @property
    def ratio(self) -> float:
        """Ledger seconds per entry / plain seconds per entry (medians)."""
        return statistics.median(self.ledger) / statistics.median(self.plain)

    def to_json(self) -> dict[str, Any]:
        return {
            "entries": self.entries,
            "ledger_seconds": self.ledger,
            "plain_seconds": self.plain,
            "ledger_entries_per_s": round(self.rate("ledger"), 1),
            "plain_entries_per_s": round(self.rate("plain"), 1),
            "ledger_best_entries_per_s": round(self.best_rate("ledger"), 1),
            "plain_best_entries_per_s": round(self.best_rate("plain"), 1),
            "cost_ratio": round(self.ratio, 3),
            "goal_met": self.ratio <= GOAL_RATIO,
        }


def _progress(message: str) -> None:
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def run(target: Target, work: Workload, batch: int, repeat: int) -> dict[str, Figures]:
    results = {name: Figures(len(work.records)) for name in modes(batch)}
    for i in range(repeat):
        order = ("ledger", "plain") if i % 2 == 0 else ("plain", "ledger")
        for name, timer in modes(batch).items():
            for system in order:
                seconds = measure(target, system, name, timer, work, batch)
                results[name].seconds(system).append(seconds)
                _progress(f"  repeat {i + 1}/{repeat} {name:<16} {system:<6} {seconds:8.3f} s")
    return results


# -- report ---------------------------------------------------------------------------------


def verdict(results: dict[str, Figures]) -> tuple[bool, str, float]:
    worst = max(results, key=lambda name: results[name].ratio)
    ratio = results[worst].ratio
    return ratio <= GOAL_RATIO, worst, ratio


def print_table(target: Target, args: argparse.Namespace, results: dict[str, Figures]) -> None:
    print(f"append benchmark on {target.description}")
    print(
        f"{args.entries} entries per mode, batch {args.batch}, "
        f"median of {args.repeat} repeat(s); ledger = signed entries decided by the rules of "
        f"{POLICY}, plain = eventsourcing {version('eventsourcing')} (unsigned, unchecked)"
    )
    print(f"{'mode':<16} {'ledger/s':>10} {'plain/s':>10} {'cost ratio':>11}")
    for name, figures in results.items():
        print(
            f"{name:<16} {figures.rate('ledger'):>10.1f} {figures.rate('plain'):>10.1f} "
            f"{figures.ratio:>10.2f}x"
        )
    met, worst, ratio = verdict(results)
    state = "MET" if met else "NOT MET"
    print(
        f"goal: ledger cost per entry <= {GOAL_RATIO}x plain eventsourcing: {state} "
        f"(worst {ratio:.2f}x in {worst})"
    )


def print_json(target: Target, args: argparse.Namespace, results: dict[str, Figures]) -> None:
    met, worst, ratio = verdict(results)
    report = {
        "database": target.description,
        "entries": args.entries,
        "batch": args.batch,
        "repeat": args.repeat,
        "statistic": "median",
        "modes": {name: figures.to_json() for name, figures in results.items()},
        "goal": {
            "max_cost_ratio": GOAL_RATIO,
            "met": met,
            "worst_mode": worst,
            "worst_ratio": round(ratio, 3),
        },
    }
    print(json.dumps(report, indent=2, ensure_ascii=False))


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--db",
        default=os.environ.get("LEDGER_BENCH_DATABASE_URL", DEFAULT_URL),
        help="postgresql://... or sqlite:///... (default: $LEDGER_BENCH_DATABASE_URL or "
        f"{DEFAULT_URL})",
    )
    parser.add_argument("--entries", type=_positive, default=5000, help="entries per mode")
    parser.add_argument("--batch", type=_positive, default=100, help="aggregates per batch save")
    parser.add_argument("--repeat", type=_positive, default=3, help="measurements per figure")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    work = make_workload(args.entries)
    try:
        target = open_target(args.db)
    except (LedgerError, PersistenceError, psycopg.Error, OSError) as e:
        print(f"bench_append: cannot open {args.db}: {e}", file=sys.stderr)
        return 2
    try:
        results = run(target, work, args.batch, args.repeat)
    except (LedgerError, PersistenceError, psycopg.Error) as e:
        print(f"bench_append: {e}", file=sys.stderr)
        return 2
    finally:
        target.cleanup()
    (print_json if args.json else print_table)(target, args, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
