"""Where entries live: eventsourcing recorders on SQLite or PostgreSQL, per ledger.

Each ledger (origin) has its own events table, so several ledgers share one
database without seeing each other. The log's tables are append-only below the
application too: triggers refuse UPDATE, DELETE (and TRUNCATE on PostgreSQL).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    Notification,
    PersistenceError,
    StoredEvent,
)
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import Environment
from psycopg.sql import SQL, Identifier

from ledger.core.errors import LedgerError

DEFAULT_DATABASE_URL = "sqlite:///var/ledger.sqlite3"
APPEND_ONLY_MESSAGE = "ledger tables are append-only"
KEY_TOPICS = ("KeyRegistered", "KeyRevoked", "LedgerOpened")


KEYS_CHANGED = "ledger key events changed"


class KeysChangedError(LedgerError):
    """Key events were stored since the writer last read them: refresh and seal again."""


class SubjectsChangedError(LedgerError):
    """A subject read while deciding a batch changed before the batch was stored."""

    def __init__(self, streams: Sequence[str]) -> None:
        self.streams = list(streams)
        super().__init__(
            f"{', '.join(self.streams)} changed while this was decided; reload and try again"
        )


class IndexChangedError(LedgerError):
    """Entries of a type the rules looked up (INDEXES) were stored while a batch was
    decided: the lookup may have missed one."""

    def __init__(self, types: Sequence[str]) -> None:
        self.types = list(types)
        super().__init__(
            f"entries of {', '.join(self.types)}, which the rules looked up, were stored "
            "while this was decided; reload and try again"
        )


#: ``(log position, event types)``: the rules looked up entries of these types as the log
#: stood at that position; a batch is refused if any was stored after it.
IndexGuard = tuple[int, Sequence[str]]


def changed_streams(rows: Sequence[tuple[Any, Any]], read_set: Mapping[str, int]) -> list[str]:
    """Streams of ``read_set`` whose stored version (``rows``: stream, max version) differs."""
    found = {str(stream): int(version) for stream, version in rows}
    return sorted(s for s, v in read_set.items() if found.get(s, 0) != v)


class ConfigurationError(LedgerError):
    """A database URL or setting is missing or malformed."""


class StorageError(LedgerError):
    """The database could not be reached or refused the work."""


@dataclass(frozen=True)
class DatabaseURL:
    """A parsed ``sqlite:///path`` or ``postgresql://user:pass@host:port/db?schema=s``."""

    kind: str
    path: str = ""
    host: str = ""
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def parse(cls, url: str) -> DatabaseURL:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
            if parts.netloc or not path:
                raise ConfigurationError(
                    f"SQLite URL {url!r}: expected sqlite:///relative/path or sqlite:////abs/path"
                )
            return cls(kind="sqlite", path=path)
        if parts.scheme in ("postgresql", "postgres"):
            dbname = unquote(parts.path.lstrip("/"))
            if not parts.hostname or not dbname:
                raise ConfigurationError(
                    f"PostgreSQL URL {url!r}: expected postgresql://user@host:port/dbname"
                )
            query = parse_qs(parts.query)
            try:
                port = parts.port or 5432
            except ValueError as e:
                raise ConfigurationError(f"PostgreSQL URL {url!r}: bad port") from e
            return cls(
                kind="postgresql",
                host=parts.hostname,
                port=port,
                user=unquote(parts.username or "postgres"),
                password=unquote(parts.password or ""),
                dbname=dbname,
                schema=query.get("schema", ["public"])[0],
            )
        raise ConfigurationError(
            f"database URL {url!r}: expected a sqlite:/// or postgresql:// URL"
        )

    def eventsourcing_env(self) -> dict[str, str]:
        env = {"ORIGINATOR_ID_TYPE": "text", "CREATE_TABLE": "no"}
        if self.kind == "sqlite":
            env.update(PERSISTENCE_MODULE="eventsourcing.sqlite", SQLITE_DBNAME=self.path)
            env["SQLITE_LOCK_TIMEOUT"] = "30"
        else:
            env.update(
                PERSISTENCE_MODULE="eventsourcing.postgres",
                POSTGRES_DBNAME=self.dbname,
                POSTGRES_HOST=self.host,
                POSTGRES_PORT=str(self.port),
                POSTGRES_USER=self.user,
                POSTGRES_PASSWORD=self.password,
                POSTGRES_SCHEMA=self.schema,
                POSTGRES_CONNECT_TIMEOUT="5",
                POSTGRES_POOL_SIZE="4",
                POSTGRES_MAX_OVERFLOW="16",
            )
        return env


def table_prefix(origin: str) -> str:
    """Short, safe table-name prefix for an origin (PostgreSQL allows 63 bytes)."""
    return "l" + hashlib.sha256(origin.encode()).hexdigest()[:16]


class SQLiteLedgerRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite recorder plus append-only triggers and the key-ring guard."""

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        after = kwargs.get("key_position")
        if after is not None:  # the write lock is held: no key event can slip in now
            marks = ",".join("?" * len(KEY_TOPICS))
            c.execute(
                f"SELECT 1 FROM {self.events_table_name} WHERE topic IN ({marks}) "
                f"AND rowid > ? AND rowid < ? LIMIT 1",
                (*KEY_TOPICS, after, min(returning or [after + 1])),
            )
            if c.fetchone() is not None:
                raise KeysChangedError(KEYS_CHANGED)
        read_set: Mapping[str, int] | None = kwargs.get("read_set")
        if read_set:  # still under the write lock: what the rules read is unchanged
            marks = ",".join("?" * len(read_set))
            c.execute(
                f"SELECT originator_id, MAX(originator_version) FROM {self.events_table_name} "
                f"WHERE originator_id IN ({marks}) GROUP BY originator_id",
                list(read_set),
            )
            if changed := changed_streams(c.fetchall(), read_set):
                raise SubjectsChangedError(changed)
        guard: IndexGuard | None = kwargs.get("index_guard")
        if guard is not None:  # still under the write lock: no entry the rules looked up is new
            position, types = guard
            marks = ",".join("?" * len(types))
            c.execute(
                f"SELECT DISTINCT topic FROM {self.events_table_name} WHERE topic IN ({marks}) "
                f"AND rowid > ? AND rowid < ?",
                (*types, position, min(returning or [position + 1])),
            )
            if stored := sorted(str(row[0]) for row in c.fetchall()):
                raise IndexChangedError(stored)
        return returning

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        statements = super().construct_create_table_statements()
        for op in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
        # Key events are looked up by type after a position (the key ring's refresh).
        statements.append(f"CREATE INDEX IF NOT EXISTS {table}_topic_idx ON {table} (topic)")
        return statements


class PostgresLedgerRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL recorder plus triggers refusing UPDATE, DELETE, TRUNCATE,
    and the key-ring guard."""

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The same pipeline as eventsourcing's: lock, (guard), notify, insert. Under the
        # table lock, a key event stored since the writer's key ring was read fails the
        # guard, which aborts the transaction: nothing is written, the writer re-seals.
        self._lock_table(curs)
        after = kwargs.get("key_position")
        if after is not None:
            curs.execute(
                SQL("SELECT {}.ledger_keys_unchanged(%s, %s, %s)").format(
                    Identifier(self.datastore.schema)
                ),
                (self.datastore.schema, self.events_table_name, after),
                prepare=True,
            )
        read_set: Mapping[str, int] | None = kwargs.get("read_set")
        if read_set:  # under the table lock: what the rules read is unchanged
            curs.execute(
                SQL(
                    "SELECT originator_id AS s, max(originator_version) AS v FROM {}.{} "
                    "WHERE originator_id = ANY(%s) GROUP BY originator_id"
                ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (list(read_set),),
                prepare=True,
            )
            rows = [(r["s"], r["v"]) for r in curs.fetchall()]  # dict rows, as eventsourcing's
            if changed := changed_streams(rows, read_set):
                raise SubjectsChangedError(changed)
        guard: IndexGuard | None = kwargs.get("index_guard")
        if guard is not None:  # under the table lock: no entry the rules looked up is new
            position, types = guard
            curs.execute(
                SQL(
                    "SELECT DISTINCT topic AS t FROM {}.{} "
                    "WHERE topic = ANY(%s) AND notification_id > %s"
                ).format(Identifier(self.datastore.schema), Identifier(self.events_table_name)),
                (list(types), position),
                prepare=True,
            )
            if stored := sorted(str(r["t"]) for r in curs.fetchall()):
                raise IndexChangedError(stored)
        self._notify_channel(curs)
        # Columns as arrays in binary: entry bytes go over the wire as they are, without
        # the text escaping of eventsourcing's composite-type rows.
        curs.execute(
            self._insert_arrays_statement,
            (
                [str(e.originator_id) for e in stored_events],
                [e.originator_version for e in stored_events],
                [e.topic for e in stored_events],
                [e.state for e in stored_events],
            ),
            prepare=True,
            binary=True,
        )

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str) -> None:
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(datastore.schema)
        table = Identifier(events_table_name)
        self._insert_arrays_statement = SQL(
            "INSERT INTO {}.{} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(schema, table)
        function = SQL("{}.ledger_refuse_change").format(schema)
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE UPDATE OR DELETE ON {}.{} "
                    "FOR EACH ROW EXECUTE FUNCTION {}()"
                ).format(Identifier(events_table_name + "_append_only"), schema, table, function),
                SQL(
                    "CREATE OR REPLACE TRIGGER {} BEFORE TRUNCATE ON {}.{} "
                    "FOR EACH STATEMENT EXECUTE FUNCTION {}()"
                ).format(Identifier(events_table_name + "_no_truncate"), schema, table, function),
                # Key events are looked up by type after a position (the key ring's refresh).
                SQL("CREATE INDEX IF NOT EXISTS {} ON {}.{} (topic, notification_id)").format(
                    Identifier(events_table_name + "_topic_idx"), schema, table
                ),
            ]
        )


_PG_REFUSE_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {}.ledger_refuse_change() RETURNS trigger "
    "LANGUAGE plpgsql AS $body$ BEGIN "
    "RAISE EXCEPTION '" + APPEND_ONLY_MESSAGE + ": % on % refused', TG_OP, TG_TABLE_NAME "
    "USING ERRCODE = 'insufficient_privilege'; END $body$"
)

_PG_KEYS_UNCHANGED_FUNCTION = (
    "CREATE OR REPLACE FUNCTION {}.ledger_keys_unchanged(events_schema text, events_table text,"
    " after bigint) "
    "RETURNS void LANGUAGE plpgsql AS $body$ DECLARE found boolean; BEGIN "
    "EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I.%I WHERE topic IN ("
    + ", ".join(f"''{t}''" for t in ("KeyRegistered", "KeyRevoked", "LedgerOpened"))
    + ") AND notification_id > $1)', events_schema, events_table) INTO found USING after; "
    "IF found THEN RAISE EXCEPTION '" + KEYS_CHANGED + "'; END IF; END $body$"
)

_SIDE_TABLES = (
    # The registry of ledgers in this database (append-only, like the log).
    "CREATE TABLE IF NOT EXISTS ledger_origins ("
    " origin TEXT PRIMARY KEY, table_prefix TEXT NOT NULL, created TEXT NOT NULL)",
    # Custodial keys, sealed with a key derived from a passphrase.
    "CREATE TABLE IF NOT EXISTS ledger_keystore ("
    " key_id TEXT PRIMARY KEY, actor TEXT NOT NULL, sealed {blob} NOT NULL, created TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS ledger_keystore_meta ("
    " name TEXT PRIMARY KEY, value {blob} NOT NULL)",
    # Personal-information disclosures: one data key per subject, wrapped by a master key.
    "CREATE TABLE IF NOT EXISTS ledger_data_keys ("
    " origin TEXT NOT NULL, subject TEXT NOT NULL, wrapped {blob} NOT NULL,"
    " PRIMARY KEY (origin, subject))",
    "CREATE TABLE IF NOT EXISTS ledger_disclosures ("
    " origin TEXT NOT NULL, commitment TEXT NOT NULL, subject TEXT NOT NULL,"
    " nonce {blob} NOT NULL, ciphertext {blob} NOT NULL, PRIMARY KEY (origin, commitment))",
)


class Transaction:
    """A cursor inside one transaction, with ``?`` placeholders on both databases."""

    def __init__(self, cursor: Any, *, postgres: bool) -> None:
        self._cursor = cursor
        self._postgres = postgres

    def _sql(self, statement: str, has_params: bool) -> str:
        return statement.replace("?", "%s") if self._postgres and has_params else statement

    def execute(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        if self._postgres and not params:
            self._cursor.execute(statement)
        else:
            self._cursor.execute(self._sql(statement, True), tuple(params))
        if self._postgres:
            if self._cursor.description is None:
                return []
            return [tuple(row.values()) for row in self._cursor.fetchall()]
        return [tuple(row) for row in self._cursor.fetchall()]

    def executemany(self, statement: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self._sql(statement, True), [tuple(r) for r in rows])


class Database:
    """One database (SQLite file or PostgreSQL), shared by every ledger stored in it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.config = DatabaseURL.parse(url)
        if self.config.kind == "sqlite":
            Path(self.config.path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        self.factory = InfrastructureFactory.construct(
            Environment("ledger", self.config.eventsourcing_env())
        )
        self.datastore: SQLiteDatastore | PostgresDatastore = self.factory.datastore  # type: ignore[attr-defined]
        self._ready = False
        self._recorders: dict[str, ApplicationRecorder] = {}

    @property
    def is_postgres(self) -> bool:
        return self.config.kind == "postgresql"

    def failure(self, e: Exception) -> StorageError:
        """A storage error naming this database and, when the pool gave up, why."""
        problem = str(e)
        if self.is_postgres and "couldn't get a connection" in problem:
            problem += f": {self._connect_problem()}"
        return StorageError(f"{self.describe()}: {problem}")

    def _connect_problem(self) -> str:
        """What a direct connection to the server says (the pool only says it timed out)."""
        c = self.config
        try:
            with psycopg.connect(
                host=c.host,
                port=c.port,
                user=c.user,
                password=c.password or None,
                dbname=c.dbname,
                connect_timeout=3,
            ):
                return "a direct connection succeeds, so every pooled connection is in use"
        except psycopg.Error as e:
            return " ".join(str(e).split())

    def describe(self) -> str:
        c = self.config
        if c.kind == "sqlite":
            return f"SQLite file {c.path}"
        return f"PostgreSQL {c.user}@{c.host}:{c.port}/{c.dbname} (schema {c.schema})"

    # -- plain SQL for the side tables -------------------------------------------------

    def execute(
        self, statement: str, params: Sequence[Any] = (), *, commit: bool = True
    ) -> list[tuple[Any, ...]]:
        """Run one statement written with ``?`` placeholders; return its rows as tuples."""
        with self.transaction(commit=commit) as tx:
            return tx.execute(statement, params)

    def qualified(self, table: str) -> str:
        """``table`` as a name that needs no search path (schema-qualified on PostgreSQL)."""
        return f"{self._schema_ident()}.{table}" if self.is_postgres else table

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """One read in a single round trip (no transaction block); tables must be qualified."""
        if isinstance(self.datastore, SQLiteDatastore):
            return self.execute(statement, params, commit=False)
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as cursor:
                cursor.execute(statement.replace("?", "%s"), tuple(params), prepare=True)
                return [tuple(row.values()) for row in cursor.fetchall()]
        except PersistenceError as e:
            raise self.failure(e) from e
        except psycopg.Error as e:
            raise self.failure(e) from e

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Transaction]:
        """Several statements in one transaction (``?`` placeholders on both databases)."""
        try:
            if isinstance(self.datastore, SQLiteDatastore):
                with self.datastore.transaction(commit=commit) as cursor:
                    yield Transaction(cursor, postgres=False)
                return
            with self.datastore.transaction(commit=commit) as pg:
                pg.execute(f"SET LOCAL search_path TO {self._schema_ident()}")
                yield Transaction(pg, postgres=True)
        except PersistenceError as e:
            raise self.failure(e) from e
        except (psycopg.Error, sqlite3.Error) as e:
            raise self.failure(e) from e

    def _schema_ident(self) -> str:
        return '"' + self.config.schema.replace('"', '""') + '"'

    def ensure_ready(self) -> None:
        """Create the side tables (and the schema on PostgreSQL) once."""
        if self._ready:
            return
        blob = "BYTEA" if self.is_postgres else "BLOB"
        if self.is_postgres:
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {self._schema_ident()}")
            self.execute(_PG_REFUSE_FUNCTION.format(self._schema_ident()))
            self.execute(_PG_KEYS_UNCHANGED_FUNCTION.format(self._schema_ident()))
        for statement in _SIDE_TABLES:
            self.execute(statement.format(blob=blob))
        self.append_only("ledger_origins")
        self._ready = True

    def append_only(self, table: str) -> None:
        """Triggers that refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL) on ``table``."""
        if self.is_postgres:
            fn = f"{self._schema_ident()}.ledger_refuse_change()"
            self.execute(
                f"CREATE OR REPLACE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION {fn}"
            )
            self.execute(
                f"CREATE OR REPLACE TRIGGER {table}_no_truncate BEFORE TRUNCATE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {fn}"
            )
            return
        for op in ("UPDATE", "DELETE"):
            self.execute(
                f"CREATE TRIGGER IF NOT EXISTS {table}_no_{op.lower()} BEFORE {op} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )

    # -- ledgers -----------------------------------------------------------------------

    def origins(self) -> list[str]:
        self.ensure_ready()
        return [row[0] for row in self.execute("SELECT origin FROM ledger_origins ORDER BY origin")]

    def register_origin(self, origin: str, created: str) -> None:
        self.ensure_ready()
        self.execute(
            "INSERT INTO ledger_origins (origin, table_prefix, created) VALUES (?, ?, ?) "
            "ON CONFLICT (origin) DO NOTHING",
            (origin, table_prefix(origin), created),
        )

    def events_table(self, origin: str) -> str:
        return table_prefix(origin) + "_events"

    def recorder(self, origin: str) -> ApplicationRecorder:
        """The recorder of ``origin``'s events table, creating the table if needed."""
        recorder = self._recorders.get(origin)
        if recorder is not None:
            return recorder
        self.ensure_ready()
        table = self.events_table(origin)
        try:
            if isinstance(self.datastore, SQLiteDatastore):
                recorder = SQLiteLedgerRecorder(self.datastore, events_table_name=table)
            else:
                recorder = PostgresLedgerRecorder(self.datastore, events_table_name=table)
            recorder.create_table()
        except PersistenceError as e:
            raise self.failure(e) from e
        self._recorders[origin] = recorder
        return recorder

    def key_events(self, origin: str, *, after: int) -> list[tuple[int, bytes]]:
        """``(position, entry bytes)`` of key events stored after ``after``, in log order."""
        return self.entries_of_type(origin, KEY_TOPICS, after=after)

    @property
    def _position(self) -> str:
        """The column of an entry's position in its log."""
        return "notification_id" if self.is_postgres else "rowid"

    def _log_table(self, origin: str) -> str:
        """``origin``'s events table, made if needed, as a name that needs no search path."""
        self.recorder(origin)
        return self.qualified(self.events_table(origin))

    def entries_of_type(
        self, origin: str, topics: tuple[str, ...], *, after: int = 0
    ) -> list[tuple[int, bytes]]:
        """``(position, entry bytes)`` of the entries of the event types ``topics`` stored
        after ``after``, in log order.

        Looked up through the (topic, position) index, without scanning other entries.
        """
        table, position = self._log_table(origin), self._position
        marks = ",".join("?" * len(topics))
        rows = self.query(
            f"SELECT {position}, state FROM {table} WHERE topic IN ({marks}) AND {position} > ?",
            (*topics, after),
        )
        return sorted((int(p), bytes(state)) for p, state in rows)

    def log_position(self, origin: str) -> int:
        """The position of ``origin``'s last stored entry (0 for an empty log)."""
        return self.recorder(origin).max_notification_id() or 0

    def existing_streams(self, origin: str, streams: Sequence[str]) -> set[str]:
        """Those of ``streams`` that have entries in ``origin``'s log (one round trip)."""
        if not streams:
            return set()
        marks = ",".join("?" * len(streams))
        rows = self.query(
            f"SELECT DISTINCT originator_id FROM {self._log_table(origin)} "
            f"WHERE originator_id IN ({marks})",
            list(streams),
        )
        return {str(row[0]) for row in rows}

    def stored_since(self, origin: str, after: int, *, limit: int) -> list[tuple[int, str]]:
        """``(position, stream)`` of at most ``limit`` entries stored after ``after``, in log
        order. Positions are given under the log's write lock, so they grow in commit order."""
        table, position = self._log_table(origin), self._position
        rows = self.query(
            f"SELECT {position}, originator_id FROM {table} WHERE {position} > ? "
            f"ORDER BY {position} LIMIT ?",
            (after, limit),
        )
        return [(int(p), str(stream)) for p, stream in rows]

    def iter_log(self, origin: str, *, page: int = 2000, start: int = 0) -> Iterator[Notification]:
        """Every stored entry of ``origin`` in log order, page by page (flat memory)."""
        recorder = self.recorder(origin)
        last = start
        while True:
            try:
                rows = recorder.select_notifications(last, page, inclusive_of_start=False)
            except PersistenceError as e:
                raise self.failure(e) from e
            if not rows:
                return
            yield from rows
            last = rows[-1].id

    def close(self) -> None:
        self.factory.close()
