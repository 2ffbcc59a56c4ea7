"""Benchmark: signed ledger appends against plain eventsourcing's unsigned save.

Both sides save the same synthetic service records (provider, platform, service
item, enterprises served, channel, charge, fee in fen, evidence list) on the same
database, one after the other, in three modes:

- ``single/new``: one save per entry, each a new stream (aggregate);
- ``single/existing``: one save per entry, each an event on an existing stream
  (the streams are created first, untimed; the aggregates stay in memory);
- ``batch/<B>``: one save of B new aggregates at a time.

The ledger side is :class:`ledger.app.LedgerApplication` (every event sealed into
a signed, chained entry). The plain side is an ``eventsourcing.application.Application``
with an ``eventsourcing.domain.Aggregate`` whose events carry the same fields,
configured for the same server through eventsourcing's own environment variables.

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
from ledger.domain.registration import with_check_character
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent
from ledger.keystore import MemorySigners
from ledger.storage import Database, DatabaseURL

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
GOAL_RATIO = 1.5  # DESIGN.md: cost per entry <= 1.5x plain eventsourcing's unsigned save
WARMUP = 5
SEED = 20_151_231
PLATFORMS = ("platform/changsha", "platform/zhuzhou", "platform/xiangtan", "platform/hengyang")
ITEMS = ("融资对接", "管理咨询", "人才培训", "法律服务", "技术创新", "市场开拓", "创业辅导")
CHANNELS = ("offline", "online")
CHARGES = ("free", "public-welfare", "commercial")
EVIDENCE = (
    ("合同", "application/pdf"),
    ("服务签名表", "image/jpeg"),
    ("现场照片", "image/jpeg"),
    ("二维码签到数据", "text/csv"),
    ("服务收支凭证", "application/pdf"),
)
COMMENTS = ("满意", "基本满意", "服务及时效果好", "希望增加后续辅导")
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
PLATFORM_SIGNERS = {platform: LocalSigner.generate() for platform in PLATFORMS}


# -- the two sides' aggregates: same fields, same events --------------------------------------


class BenchService(LedgerAggregate):
    """A service record on the ledger (event types prefixed to stay out of the domain's way)."""

    class BenchServiceRecorded(LedgerCreated):
        provider: str
        platform: str
        item: str
        enterprises: list[str]
        channel: str
        charge: str
        fee_fen: int
        evidence: list[dict[str, Any]]

        def apply(self, aggregate: Any) -> None:
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluations = 0

    class BenchServiceEvaluated(LedgerEvent):
        enterprise: str
        score: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluations += 1


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

        def apply(self, aggregate: Any) -> None:
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluations = 0

    class Evaluated(Aggregate.Event):
        actor: str
        enterprise: str
        score: int
        comment: str

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluations += 1


class PlainServiceApp(Application[uuid.UUID]):
    """A plain application; its name (hence its table) is given per instance."""

    def __init__(self, name: str, env: dict[str, str]) -> None:
        self.name = name
        super().__init__(env=env)


# -- synthetic data -------------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    id: uuid.UUID
    fields: dict[str, Any]  # actor and body members, integers and strings only


@dataclass(frozen=True)
class Evaluation:
    fields: dict[str, Any]


def _uscc(rng: random.Random) -> str:
    """An 18-character unified social credit code, with its check character."""
    return with_check_character("91430" + "".join(rng.choice(USCC_ALPHABET) for _ in range(12)))


def _evidence(rng: random.Random) -> dict[str, Any]:
    kind, media_type = rng.choice(EVIDENCE)
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    return {
        "type": kind,
        "sha256": rng.randbytes(32).hex(),
        "basis_date": f"2026-{month:02d}-{day:02d}",
        "media_type": media_type,
        "size": rng.randint(20_000, 4_000_000),
    }


def make_records(rng: random.Random, count: int) -> list[Record]:
    records = []
    for _ in range(count):
        platform = rng.choice(PLATFORMS)
        fields = {
            "actor": platform,
            "provider": f"provider/{rng.randint(1, 400):04d}",
            "platform": platform,
            "item": rng.choice(ITEMS),
            "enterprises": [_uscc(rng) for _ in range(rng.randint(1, 5))],
            "channel": rng.choice(CHANNELS),
            "charge": rng.choice(CHARGES),
            "fee_fen": rng.choice((0, rng.randint(10_000, 5_000_000))),
            "evidence": [_evidence(rng) for _ in range(rng.randint(1, 3))],
        }
        records.append(Record(uuid.UUID(int=rng.getrandbits(128), version=4), fields))
    return records


def make_evaluations(rng: random.Random, count: int) -> list[Evaluation]:
    return [
        Evaluation(
            {
                "actor": rng.choice(PLATFORMS),
                "enterprise": _uscc(rng),
                "score": rng.randint(1, 5),
                "comment": rng.choice(COMMENTS),
            }
        )
        for _ in range(count)
    ]


@dataclass(frozen=True)
class Workload:
    records: list[Record]
    evaluations: list[Evaluation]
    warmup: list[Record]


def make_workload(entries: int) -> Workload:
    rng = random.Random(SEED)  # noqa: S311  (synthetic data, not secrets)
    return Workload(
        make_records(rng, entries), make_evaluations(rng, entries), make_records(rng, WARMUP)
    )


# -- the sides ----------------------------------------------------------------------------


class Side(Protocol):
    """One system under test, on fresh tables."""

    def create(self, record: Record) -> Any: ...

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None: ...

    def save(self, *aggregates: Any) -> None: ...

    def close(self) -> None: ...


class LedgerSide:
    """A new ledger (origin, hence table) with four platforms' keys registered."""

    def __init__(self, db: Database, origin: str, signers: MemorySigners) -> None:
        self.db = db
        try:
            root = signers.add("root", LocalSigner.generate())
            self.app = LedgerApplication(db, origin, signers=signers)
            self.app.open_ledger(
                policy="hunan-sme-2015",
                root_actor="root",
                root_signers=[root],
                log_signer=LocalSigner.generate(),
            )
            for platform, signer in PLATFORM_SIGNERS.items():
                self.app.register_key(by="root", subject=platform, public_key=signer.public_key)
        except BaseException:
            db.close()
            raise

    def create(self, record: Record) -> BenchService:
        return BenchService._create(
            BenchService.BenchServiceRecorded, id=f"service/{record.id}", **record.fields
        )

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None:
        aggregate.trigger_event(BenchService.BenchServiceEvaluated, **evaluation.fields)

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
        return PlainService._create(PlainService.Recorded, id=record.id, **record.fields)

    def evaluate(self, aggregate: Any, evaluation: Evaluation) -> None:
        aggregate.trigger_event(PlainService.Evaluated, **evaluation.fields)

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
    signers: MemorySigners = field(default_factory=lambda: _platform_signers())
    counter: int = 0

    def side(self, system: str, mode: str) -> Side:
        self.counter += 1
        if system == "ledger":
            origin = f"bench.example.org/{mode}/{self.counter}"
            return LedgerSide(Database(self.ledger_url(self.counter)), origin, self.signers)
        return PlainSide(f"PlainBench{self.counter}", self.plain_env(self.counter))


def _platform_signers() -> MemorySigners:
    signers = MemorySigners()
    for platform, signer in PLATFORM_SIGNERS.items():
        signers.add(platform, signer)
    return signers


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
    streams = work.records[: max(1, len(work.evaluations) // 4)]
    aggregates = []
    for chunk in _chunks(streams, batch):  # untimed: the streams to append to
        created = [side.create(record) for record in chunk]
        side.save(*created)
        aggregates.extend(created)
    started = time.perf_counter()
    for i, evaluation in enumerate(work.evaluations):
        aggregate = aggregates[i % len(aggregates)]
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
        f"median of {args.repeat} repeat(s); ledger = signed entries, plain = eventsourcing 9.5.6"
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
