"""The write side: an eventsourcing Application whose stored events are signed entries.

Every event an aggregate decides is sealed into an entry (FORMAT.md §2) as it is
mapped for storage: envelope, previous hash of its stream, signature by the
actor's key. Already signed entries from clients are checked completely first.
"""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent
from eventsourcing.persistence import (
    ApplicationRecorder,
    InfrastructureFactory,
    IntegrityError,
    JSONTranscoder,
    Mapper,
    PersistenceError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment

import ledger.domain  # noqa: F401 - registers the domain's event types
from ledger.core.crypto import Signer, key_id, verify_signature
from ledger.core.envelope import (
    Entry,
    Envelope,
    b64encode,
    decode_entry,
    format_time,
    parse_time,
)
from ledger.core.errors import EntryRejectedError, FormatError, LedgerError, VerificationError
from ledger.core.note import verifier_key
from ledger.core.sign import seal
from ledger.core.trust import (
    KEY_EVENT_TYPES,
    KEY_REGISTERED,
    KEY_REVOKED,
    LEDGER_OPENED,
    LEDGER_STREAM,
    KeyRing,
    key_stream,
)
from ledger.domain.rules import (
    INDEXES,
    RuleContext,
    check_shape,
    index_keys,
)
from ledger.events import LedgerAggregate, LedgerEvent, aggregate_topic, event_class
from ledger.keys import Key, Ledger
from ledger.policy import PolicyError, PolicyPack, load_pack
from ledger.storage import (
    KEYS_CHANGED,
    Database,
    IndexChangedError,
    IndexGuard,
    KeysChangedError,
    StorageError,
    SubjectsChangedError,
)
from ledger.tlog import SignedCheckpoint, TreeStore

DEFAULT_MAX_SKEW = timedelta(minutes=5)
SHANGHAI = ZoneInfo("Asia/Shanghai")
KEY_RETRIES = 3

__all__ = [
    "EntryRejectedError",
    "LedgerApplication",
    "SignerSource",
    "StreamConflictError",
    "event_from_envelope",
]


class StreamConflictError(LedgerError):
    """Another writer appended to the stream first; nothing was written."""


class SignerSource(Protocol):
    """Where custodial signing keys come from (a keystore, an HSM, a KMS)."""

    def signer_for(self, actor: str, keyring: KeyRing) -> Signer | None: ...


class HeadCache:
    """Recently seen ``stream -> (version, entry hash)``, bounded."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._heads: OrderedDict[str, tuple[int, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, stream: str, version: int, entry_hash: bytes) -> None:
        with self._lock:
            self._heads[stream] = (version, entry_hash)
            self._heads.move_to_end(stream)
            if len(self._heads) > self.size:
                self._heads.popitem(last=False)

    def hash_at(self, stream: str, version: int) -> bytes | None:
        head = self._heads.get(stream)
        return head[1] if head is not None and head[0] == version else None

    def forget(self, streams: set[str]) -> None:
        with self._lock:
            for stream in streams:
                self._heads.pop(stream, None)


class SubjectCache:
    """The states the rules read, as they stand at the log's ``position``, bounded.

    Before each decision the ledger reads which streams the entries stored since then
    belong to, its own and any other writer's, and forgets those: the rules never decide
    against a state the log has moved past. The read set checked under the write lock
    still guards against a writer in between. The rules only read the states they are
    given; a decision copies a state before its events change it."""

    #: More entries than this stored since the last decision: forget everything.
    CATCH_UP = 2_000

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self.position: int | None = None  # None: nothing is known
        self._states: OrderedDict[str, LedgerAggregate | None] = OrderedDict()

    def get(self, stream: str, load: Callable[[str], LedgerAggregate | None]) -> Any:
        if stream in self._states:
            self._states.move_to_end(stream)
            return self._states[stream]
        state = load(stream)
        self.put(stream, state)
        return state

    def put(self, stream: str, state: LedgerAggregate | None) -> None:
        self._states[stream] = state
        self._states.move_to_end(stream)
        if len(self._states) > self.size:
            self._states.popitem(last=False)

    def catch_up(self, db: Database, origin: str) -> None:
        """Forget the streams of the entries stored since ``position``."""
        if self.position is not None:
            stored = db.stored_since(origin, self.position, limit=self.CATCH_UP)
            if len(stored) < self.CATCH_UP:
                for position, stream in stored:
                    self._states.pop(stream, None)
                    self.position = position
                return
        self.clear()
        self.position = db.log_position(origin)

    def begun(self, db: Database, origin: str, events: Sequence[Any]) -> None:
        """Learn in one round trip which of the streams ``events`` begin do not exist yet
        (the rules read each to refuse beginning a stream twice)."""
        unknown = {e.originator_id for e in events if e.originator_version == 1}
        unknown -= self._states.keys()
        for stream in unknown - db.existing_streams(origin, sorted(unknown)):
            self.put(stream, None)

    def wrote(self, ctx: RuleContext, recordings: Sequence[Recording[str]]) -> None:
        """A batch was stored: keep the states it decided, when no other writer's entry
        came between ``position`` and it (otherwise the next catch-up reads them all)."""
        written = {r.domain_event.originator_id for r in recordings}
        ids = [r.notification.id for r in recordings]  # ascending
        if self.position is not None and ids and ids[-1] - self.position == len(ids):
            for stream in written:
                if stream in ctx.written:
                    self.put(stream, ctx.get(stream))
                else:  # a key event, not decided by the rules
                    self._states.pop(stream, None)
            self.position = ids[-1]
            return
        for stream in written:
            self._states.pop(stream, None)

    def clear(self) -> None:
        self._states.clear()
        self.position = None


class EntryMapper(Mapper[str]):
    """Maps domain events to stored entries (sealing them) and back."""

    def __init__(self, app: LedgerApplication) -> None:
        super().__init__(transcoder=JSONTranscoder())
        self.app = app

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        entry: Entry | None = domain_event.__dict__.get("_entry")
        if entry is None:
            entry = self.app.seal_event(domain_event)
        env = entry.envelope
        self.app.heads.remember(env.stream, env.version, entry.hash)
        return StoredEvent(
            originator_id=env.stream,
            originator_version=env.version,
            topic=env.type,
            state=entry.raw,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        raw = stored_event.state
        self.app.heads.remember(
            str(stored_event.originator_id),
            stored_event.originator_version,
            hashlib.sha256(raw).digest(),
        )
        return event_from_envelope(json.loads(raw)["envelope"])


def event_from_envelope(env: Mapping[str, Any], entry: Entry | None = None) -> LedgerEvent:
    """The domain event an envelope records (its body members become attributes)."""
    cls = event_class(env["type"])
    state: dict[str, Any] = dict(env["body"])
    state.update(
        originator_id=env["stream"],
        originator_version=env["version"],
        timestamp=parse_time(env["time"]),
        actor=env["actor"],
    )
    topic = aggregate_topic(env["type"])
    if topic is not None:
        state["originator_topic"] = topic
    if entry is not None:
        state["_entry"] = entry
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", state)
    return event


class LedgerApplication(Application[str]):
    """One ledger (origin) in a database: append signed entries, read them in log order."""

    name = "Ledger"

    def __init__(
        self,
        db: Database,
        origin: str,
        *,
        signers: SignerSource | None = None,
        log_signer: Signer | None = None,
        max_skew: timedelta = DEFAULT_MAX_SKEW,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.db = db
        self.origin = origin
        self.signers = signers
        self.log_signer = log_signer
        self._tree: TreeStore | None = None
        self.max_skew = max_skew
        self.clock = clock or (lambda: datetime.now(UTC))
        self.heads = HeadCache()
        self.subjects = SubjectCache()
        self.keyring = KeyRing()
        self._keyring_position = 0
        self._scratch: KeyRing | None = None
        self._opening_signer: Signer | None = None
        self._write_lock = threading.RLock()
        self._policy_name: str | None = None
        self._packs: dict[date, PolicyPack] = {}
        super().__init__(env=db.config.eventsourcing_env())

    # -- eventsourcing wiring ------------------------------------------------------------

    def construct_factory(self, env: Environment) -> InfrastructureFactory:  # noqa: ARG002
        return self.db.factory

    def construct_mapper(self) -> Mapper[str]:
        return EntryMapper(self)

    def construct_recorder(self) -> ApplicationRecorder:
        return self.db.recorder(self.origin)

    def close(self) -> None:
        """The database is shared between ledgers: closing it is the caller's."""

    # -- writing ---------------------------------------------------------------------------

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[str]]:
        """Seal and append the pending events of ``objs`` atomically, or nothing at all.

        An object is an aggregate (its pending events, in order) or one event collected
        from an aggregate, so a batch can interleave the events of several streams."""
        with self._write_lock:
            if self._keyring_position == 0:
                self.refresh_keys()
            streams = {getattr(o, "id", getattr(o, "originator_id", "")) for o in objs if o}
            try:
                self.subjects.catch_up(self.db, self.origin)
                events = [e for o in objs if o for e in _pending(o)]
                self.subjects.begun(self.db, self.origin, events)
                ctx = self.decide(events)
                if ctx is not None:
                    kwargs["read_set"] = _read_set(ctx, streams)
                    kwargs["index_guard"] = self._index_guard(ctx)
                recordings = super().save(*objs, **kwargs)
                if ctx is not None:
                    self.subjects.wrote(ctx, recordings)
                else:
                    self.subjects.clear()
                if self._scratch is not None:  # this batch held key events: read them back
                    self.refresh_keys()
                return recordings
            except IntegrityError as e:
                self.heads.forget(streams)
                raise StreamConflictError(
                    f"another writer appended to {', '.join(sorted(streams))} first; "
                    "reload and try again"
                ) from e
            except (SubjectsChangedError, IndexChangedError) as e:
                self.heads.forget(streams)
                raise StreamConflictError(str(e)) from e
            except LedgerError:
                self.heads.forget(streams)
                raise
            except PersistenceError as e:
                self.heads.forget(streams)
                raise self.db.failure(e) from e
            finally:
                self._scratch = None

    def _record(self, processing_event: ProcessingEvent[str]) -> list[Recording[str]]:
        """Store the batch; if key events were stored meanwhile, refresh and seal again.

        The recorder checks, under the log's write lock, that no key event arrived after
        the key ring was read: a revocation can never be overtaken by a stale signer.
        """
        for attempt in range(KEY_RETRIES):
            try:
                return self.events.put(
                    processing_event.events,
                    tracking=processing_event.tracking,
                    key_position=self._keyring_position,
                    **processing_event.saved_kwargs,
                )
            except (KeysChangedError, PersistenceError) as e:
                if isinstance(e, IntegrityError) or KEYS_CHANGED not in str(e):
                    raise
                if attempt == KEY_RETRIES - 1:
                    raise StorageError(f"key events keep changing: {e}") from e
                self.refresh_keys()
                self._scratch = None
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the hard rules --------------------------------------------------------------------

    @property
    def policy(self) -> PolicyPack:
        """The ledger's policy pack, in the version in force today (Asia/Shanghai)."""
        if self._policy_name is None:
            opened = self.recorder.select_events(LEDGER_STREAM, limit=1)
            if not opened:
                raise EntryRejectedError(f"ledger {self.origin!r} is not open")
            self._policy_name = str(decode_entry(opened[0].state).envelope.body["policy"])
        today = self.clock().astimezone(SHANGHAI).date()
        if today not in self._packs:
            self._packs = {today: load_pack(self._policy_name, on=today)}
        return self._packs[today]

    def rule_context(self) -> RuleContext:
        """A fresh context for deciding new events against the ledger's current state."""
        if self.keyring.root_actor is None:
            self.refresh_keys()
        return RuleContext(
            self.policy,
            lambda stream: self.subjects.get(stream, self.subject),
            root_actor=self.keyring.root_actor or "",
            find=self.find,
            copy_on_write=True,
        )

    def decide(self, events: list[Any]) -> RuleContext | None:
        """Check new domain events against every rule, in order; None when there are none."""
        new = [
            e
            for e in events
            if "_entry" not in e.__dict__ and type(e).__name__ not in KEY_EVENT_TYPES
        ]
        if not new:
            return None
        ctx = self.rule_context()
        _check_not_overtaken(ctx, new)
        ctx.decide_all(new)
        return ctx

    def subject(self, stream: str) -> LedgerAggregate | None:
        """The current state of ``stream``, or None when it does not exist."""
        try:
            found: LedgerAggregate = self.repository.get(stream)
        except AggregateNotFoundError:
            return None
        return found

    def find(self, index: str, key: str) -> list[str]:
        """The streams filed under ``key`` in the rules' ``index``, from the stored entries
        of the event types that feed it (read through the topic index), in log order."""
        found: list[str] = []
        for _, raw in self.db.entries_of_type(self.origin, INDEXES[index][0]):
            env = decode_entry(raw).envelope
            if key in index_keys(index, env.type, env.body) and env.stream not in found:
                found.append(env.stream)
        return found

    def parties_of(self, platform: str) -> list[str]:
        """Providers admitted by, and members registered with, ``platform``."""
        return self.find("parties", platform)

    def seal_event(self, event: Any) -> Entry:
        """Envelope, previous hash and signature for an aggregate's new event."""
        if not isinstance(event, LedgerEvent):
            raise LedgerError(f"{type(event).__name__} is not a ledger event")
        ring = self._ring()
        signer = self._opening_signer if isinstance(event, Ledger.LedgerOpened) else None
        if signer is None and self.signers is not None:
            signer = self.signers.signer_for(event.actor, ring)
            if signer is None and self._scratch is None:  # a key registered elsewhere?
                signer = self.signers.signer_for(event.actor, self.refresh_keys())
        if signer is None:
            raise EntryRejectedError(f"no signing key for actor {event.actor!r} (FORMAT §4)")
        env = Envelope(
            ledger=self.origin,
            stream=event.originator_id,
            version=event.originator_version,
            prev=self._prev_hex(event.originator_id, event.originator_version),
            type=type(event).__name__,
            time=format_time(event.timestamp),
            actor=event.actor,
            key=signer.key_id,
            body=event.body(),
        )
        try:
            entry = seal(env, signer)
        except FormatError as e:
            raise EntryRejectedError(f"{env.type}: {e}") from e
        self._admit(entry)
        return entry

    def _prev_hex(self, stream: str, version: int) -> str | None:
        if version == 1:
            return None
        cached = self.heads.hash_at(stream, version - 1)
        if cached is not None:
            return cached.hex()
        rows = self.recorder.select_events(stream, gt=version - 2, lte=version - 1)
        if not rows:
            raise StreamConflictError(f"stream {stream!r} has no version {version - 1}")
        return hashlib.sha256(rows[0].state).hexdigest()

    def _admit(self, entry: Entry) -> None:
        """Trust checks every entry passes before it is stored (FORMAT.md §4)."""
        env = entry.envelope
        try:
            if env.type == LEDGER_OPENED:
                ring = self._ring(for_update=True)
                ring.authorise(0, env)
                ring.apply(0, env)
                return
            if not self._ring().keys:
                raise EntryRejectedError(f"ledger {self.origin!r} is not open")
            self._ring().check_signer(env)
            if env.type in KEY_EVENT_TYPES:
                self._check_key_stream(env)
                self._ring(for_update=True).apply(1, env)
        except VerificationError as e:
            raise EntryRejectedError(e.problem) from e

    def _ring(self, *, for_update: bool = False) -> KeyRing:
        """The key ring as this batch sees it; key events change a private copy."""
        if self._scratch is None and for_update:
            self._scratch = copy.deepcopy(self.keyring)
        return self._scratch if self._scratch is not None else self.keyring

    @staticmethod
    def _check_key_stream(env: Envelope) -> None:
        key = env.body.get("key")
        if env.type in (KEY_REGISTERED, KEY_REVOKED) and env.stream != key_stream(str(key)):
            raise EntryRejectedError(
                f"{env.type} of key {key} belongs in stream {key_stream(str(key))!r}"
            )

    def refresh_keys(self) -> KeyRing:
        """Bring the key ring up to date with key events stored since it was last read."""
        for position, raw in self.db.key_events(self.origin, after=self._keyring_position):
            env = decode_entry(raw).envelope
            self.keyring.apply(0 if env.type == LEDGER_OPENED else position, env)
            self._keyring_position = position
        return self.keyring

    # -- commands of the ledger itself -------------------------------------------------

    def open_ledger(
        self, *, policy: str, root_actor: str, root_signers: list[Signer], log_signer: Signer
    ) -> Entry:
        """Write ``LedgerOpened`` at index 0 with the root keys and the log's verifier key."""
        if self.recorder.select_events(LEDGER_STREAM, limit=1):
            raise EntryRejectedError(f"ledger {self.origin!r} is already open")
        try:
            load_pack(policy, on=self.clock().astimezone(SHANGHAI).date())
        except PolicyError as e:
            raise EntryRejectedError(f"policy: {e}") from e
        ledger = Ledger.open(
            actor=root_actor,
            origin=self.origin,
            policy=policy,
            verifier_key=verifier_key(self.origin, log_signer.public_key),
            root_keys=[
                {"key": s.key_id, "public_key": b64encode(s.public_key)} for s in root_signers
            ],
        )
        self.log_signer = self.log_signer or log_signer
        self._opening_signer = root_signers[0]
        try:
            recordings = self.save(ledger)
        finally:
            self._opening_signer = None
        self.db.register_origin(self.origin, format_time(self.clock()))
        return _entry_of(recordings[0])

    def register_key(self, *, by: str, subject: str, public_key: bytes) -> Entry:
        key = Key.register(
            actor=by, subject=subject, key=key_id(public_key), public_key=b64encode(public_key)
        )
        return _entry_of(self.save(key)[0])

    def revoke_key(
        self, *, by: str, key: str, reason: str, revoked_at: datetime | None = None
    ) -> Entry:
        try:
            aggregate: Any = self.repository.get(key_stream(key))
        except Exception as e:  # eventsourcing raises AggregateNotFoundError
            raise EntryRejectedError(f"key {key} is not registered") from e
        moment = revoked_at or self.clock()
        if aggregate.subject == by:
            moment += timedelta(microseconds=1)  # after the revocation entry itself
        aggregate.revoke(actor=by, revoked_at=format_time(moment), reason=reason)
        return _entry_of(self.save(aggregate)[0])

    # -- the verifiable log --------------------------------------------------------------

    @property
    def tree(self) -> TreeStore:
        if self._tree is None:
            self._tree = TreeStore(self.db, self.origin)
        return self._tree

    def publish(self) -> SignedCheckpoint | None:
        """Add every stored entry to the Merkle tree and sign a checkpoint covering them."""
        if self.log_signer is None:
            raise LedgerError(f"no log key to sign checkpoints of {self.origin!r}")
        return self.tree.advance(self.log_signer)

    # -- client-signed entries -------------------------------------------------------------

    def submit(self, raw: bytes) -> Entry:
        """Check an entry signed by its actor completely, then store its exact bytes."""
        return self.submit_all([raw])[0]

    def submit_all(self, raws: Sequence[bytes]) -> list[Entry]:
        """Check entries signed by their actors completely, in order, then store their
        exact bytes together, or none of them: one act written as several entries (a
        voucher redeemed and applied to its order) is submitted as one batch."""
        if not raws:
            raise EntryRejectedError("no entries to submit")
        entries = [self._received(raw) for raw in raws]
        with self._write_lock:
            for attempt in range(KEY_RETRIES):
                self.refresh_keys()
                try:
                    self._store_submitted(entries)
                    break
                except IntegrityError as e:
                    raise StreamConflictError(_already_written(entries)) from e
                except (SubjectsChangedError, IndexChangedError) as e:
                    raise StreamConflictError(str(e)) from e
                except (KeysChangedError, PersistenceError) as e:
                    if KEYS_CHANGED not in str(e) or attempt == KEY_RETRIES - 1:
                        raise self.db.failure(e) from e
                finally:
                    self._scratch = None
        for entry in entries:
            self.heads.remember(entry.envelope.stream, entry.envelope.version, entry.hash)
        return entries

    def _received(self, raw: bytes) -> Entry:
        """A submitted entry that is well-formed, for this ledger, of a known type and timely."""
        try:
            entry = decode_entry(raw)
        except FormatError as e:
            raise EntryRejectedError(f"malformed entry: {e}") from e
        env = entry.envelope
        if env.ledger != self.origin:
            raise EntryRejectedError(f"entry is for ledger {env.ledger!r}, not {self.origin!r}")
        if env.type == LEDGER_OPENED:
            raise EntryRejectedError(f"{LEDGER_OPENED} is written only when the ledger is opened")
        if not _known(env.type):
            raise EntryRejectedError(f"{env.type!r} is not an event type of this ledger")
        if env.type not in KEY_EVENT_TYPES:
            check_shape(env.stream, event_class(env.type), env.body)
        if env.type == "MemberRegistered" and env.body.get("kind") == "person":
            raise EntryRejectedError(
                f"{env.stream}: a person is registered through the ledger's own command, "
                "which computes the index of the ID-card number with the vault's key (rule 4) "
                "and the age check from the birth date (AH 25); a client-signed entry can "
                "show neither"
            )
        self._check_time(env)
        return entry

    def _store_submitted(self, entries: list[Entry]) -> None:
        heads: dict[str, tuple[int, str]] = {}  # streams this batch already wrote
        self.subjects.catch_up(self.db, self.origin)  # the next one forgets what this writes
        for entry in entries:
            env = entry.envelope
            self._admit(entry)
            key = self._ring().keys.get(env.key)
            public_key = key.public_key if key else b""
            if not verify_signature(public_key, entry.sig, entry.envelope_bytes):
                raise EntryRejectedError(f"signature by key {env.key} does not verify")
            self._check_head(env, heads.get(env.stream))
            heads[env.stream] = (env.version, entry.hash_hex)
        ctx = self.decide([event_from_envelope(e.envelope.to_json()) for e in entries])
        self.recorder.insert_events(
            [
                StoredEvent(e.envelope.stream, e.envelope.version, e.envelope.type, e.raw)
                for e in entries
            ],
            key_position=self._keyring_position,
            read_set=_read_set(ctx, set(heads)) if ctx is not None else None,
            index_guard=self._index_guard(ctx) if ctx is not None else None,
        )

    def _index_guard(self, ctx: RuleContext) -> IndexGuard | None:
        """The types of the entries the rules looked up, as the log stood when they began
        (the subjects' catch-up position): none may be stored before this batch is."""
        if not ctx.indexes_read or self.subjects.position is None:
            return None
        types = {t for index in ctx.indexes_read for t in INDEXES[index][0]}
        return self.subjects.position, sorted(types)

    def _check_time(self, env: Envelope) -> None:
        now = self.clock()
        moment = parse_time(env.time)
        if moment < now - self.max_skew:
            raise EntryRejectedError(
                f"time {env.time} is stale: more than {self.max_skew} before now"
            )
        if moment > now + self.max_skew:
            raise EntryRejectedError(
                f"time {env.time} is in the future by more than {self.max_skew}"
            )

    def _check_head(self, env: Envelope, batch_head: tuple[int, str] | None = None) -> None:
        """``env`` follows its stream's head: the stored one, or ``batch_head`` (version and
        entry hash) when an earlier entry of the same batch wrote the stream."""
        prev: str | None
        if batch_head is not None:
            version, prev = batch_head
        else:
            rows = self.recorder.select_events(env.stream, desc=True, limit=1)
            version = rows[0].originator_version if rows else 0
            prev = hashlib.sha256(rows[0].state).hexdigest() if rows else None
        if env.version != version + 1:
            raise StreamConflictError(
                f"stream {env.stream!r}: expected version {version + 1}, got {env.version}"
            )
        if env.prev != prev:
            raise EntryRejectedError(f"stream {env.stream!r}: prev expected {prev}, got {env.prev}")

    # -- reading ------------------------------------------------------------------------------

    def entries(self, *, start: int = 0) -> Iterator[bytes]:
        for row in self.db.iter_log(self.origin, start=start):
            yield row.state


def _already_written(entries: list[Entry]) -> str:
    if len(entries) == 1:
        env = entries[0].envelope
        return f"stream {env.stream!r} already has version {env.version}"
    streams = sorted({entry.envelope.stream for entry in entries})
    return f"another writer appended to {', '.join(streams)} first"


def _known(type_name: str) -> bool:
    try:
        event_class(type_name)
    except LedgerError:
        return False
    return True


def _check_not_overtaken(ctx: RuleContext, events: list[Any]) -> None:
    """A stream another writer appended to since its aggregate was read is a conflict to
    retry (as when the database refuses the version), not an event that breaks a rule.
    (A stream begun again is the rules' to refuse: it already exists.)"""
    seen: set[str] = set()
    for event in events:
        stream = event.originator_id
        if stream in seen:
            continue
        seen.add(stream)
        state = ctx.get(stream)
        version = state.version if state is not None else 0
        if 1 < event.originator_version <= version:
            raise StreamConflictError(
                f"another writer appended to {stream} first (it is at version {version}); "
                "reload and try again"
            )


def _pending(obj: Any) -> list[Any]:
    """The events ``obj`` adds to a batch: an aggregate's pending ones, or the event itself."""
    return [obj] if isinstance(obj, LedgerEvent) else list(obj.pending_events)


def _read_set(ctx: RuleContext, written: set[str]) -> dict[str, int]:
    """What the rules read, less the streams being written (their versions are checked anyway)."""
    return {s: v for s, v in ctx.reads.items() if s not in written}


def _entry_of(recording: Recording[str]) -> Entry:
    return decode_entry(recording.notification.state)
