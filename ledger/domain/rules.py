"""Deciding whether events may be written: the hard rules of DOMAIN.md §3 in one place.

Every new event, whether decided by a command or signed by a client, passes
:meth:`RuleContext.decide` just before it is stored, in log order within its batch:

1. its actor's standing (rules 1, 2 and 4: verified, admitted, not barred), unless the
   event is one a subject writes regardless of standing (an application, a complaint);
2. the event's own rules, :meth:`LedgerEvent.check`, against its aggregate's state before
   it and, through this context, every other subject's current state;
3. the policy's permissions: which roles may write which event (DOMAIN.md §1).

Rules read the policy pack for their parameters and articles; a rule the pack does not
list does not apply under it. Every subject the decision read is remembered with its
version (``reads``), so the write can be refused if any of them changed before commit.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

from ledger.calendar import local_date
from ledger.domain.errors import LifecycleError, NotPermittedError, RuleViolationError
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent, check_body
from ledger.policy import PolicyPack

Loader = Callable[[str], LedgerAggregate | None]
#: (index, key) -> the streams filed under ``key`` in ``index`` (see INDEXES), in log order.
Finder = Callable[[str, str], list[str]]
#: (rule, test, problem, stream): the next event must pass ``test``; events of ``stream``
#: (when not None) may come first.
Expectation = tuple[int, Callable[[LedgerEvent], bool], str, str | None]

#: The events that make a subject a platform's party (HN 8(10)): admitted, registered.
PARTY_EVENTS = ("ProviderAdmitted", "MemberRegistered")
#: The events that put items under a promotion's terms (HN 8(12)).
PROMOTION_EVENTS = ("PromotionAnnounced", "PromotionChanged")

ROOT_ROLE = "root"
SELF_ROLE = "self"


def party_of(event_type: str, body: Any) -> str | None:
    """The platform an entry makes its stream a party of, if any."""
    platform = body.get("platform") if event_type in PARTY_EVENTS else None
    return platform if isinstance(platform, str) else None


def promoted_items(event_type: str, body: Any) -> list[str]:
    """The items a promotion entry names: those it announces, or changes its scope to."""
    if event_type == "PromotionChanged" and isinstance(body.get("changes"), dict):
        named = body["changes"].get("items")
    else:
        named = body.get("items") if event_type == "PromotionAnnounced" else None
    return [i for i in named if isinstance(i, str)] if isinstance(named, list) else []


def top_platform(event_type: str, body: Any) -> list[str]:
    """A platform that applied without a parent: the top of the network (HN 4; AH 2)."""
    return ["top"] if event_type == "PlatformApplied" and body.get("parent") is None else []


def agreement_parties(event_type: str, body: Any) -> list[str]:
    """The kinds of party (``provider``, ``member``) a published agreement binds (HN 8(3))."""
    parties = body.get("parties") if event_type == "AgreementPublished" else None
    return [p for p in parties if isinstance(p, str)] if isinstance(parties, list) else []


#: What the rules look up across streams, by what an entry's body says: the parties of a
#: platform (HN 8(10)), the promotions naming an item (HN 8(12)), the network's top
#: platform, the agreements each kind of party signs (HN 8(3)). Each: the event types that
#: file a stream, and the keys they file it under.
INDEXES: dict[str, tuple[tuple[str, ...], Callable[[str, Any], list[str]]]] = {
    "parties": (PARTY_EVENTS, lambda t, body: [p] if (p := party_of(t, body)) else []),
    "promotions": (PROMOTION_EVENTS, promoted_items),
    "platforms": (("PlatformApplied",), top_platform),
    "agreements": (("AgreementPublished",), agreement_parties),
}


def index_keys(index: str, event_type: str, body: Any) -> list[str]:
    """The keys under which an entry of ``event_type`` files its stream in ``index``."""
    types, keys = INDEXES[index]
    return keys(event_type, body) if event_type in types else []


def check_shape(stream: str, cls: type[LedgerEvent], body: Mapping[str, Any]) -> None:
    """LifecycleError unless ``body`` has exactly the members of ``cls``, of their types."""
    try:
        check_body(cls, body)
    except TypeError as e:
        raise LifecycleError(stream, f"{cls.__name__} is malformed: {e}") from e


class RuleContext:
    """The state a batch of new events is decided against, and what it read."""

    def __init__(
        self,
        policy: PolicyPack,
        load: Loader,
        *,
        root_actor: str,
        find: Finder | None = None,
        copy_on_write: bool = False,
    ) -> None:
        self.policy = policy
        #: True when ``load`` hands out shared states (a cache): a state is copied before
        #: this batch's events change it.
        self._copy_on_write = copy_on_write
        #: The streams this batch's events changed.
        self.written: set[str] = set()
        #: The indexes (INDEXES) looked up while deciding.
        self.indexes_read: set[str] = set()
        self.root_actor = root_actor
        self._load = load
        self._find = find
        self._states: dict[str, LedgerAggregate | None] = {}
        self._found: dict[tuple[str, str], list[str]] = {}
        #: stream -> version of every subject read while deciding (0: did not exist).
        self.reads: dict[str, int] = {}
        self.event: LedgerEvent | None = None
        #: What the next event must be: (rule, test, problem), set by :meth:`expect_next`.
        self.expected: Expectation | None = None
        #: The events of this batch decided so far, in order.
        self.decided: list[LedgerEvent] = []

    # -- reading subjects ----------------------------------------------------------------

    def get(self, stream: str) -> Any:
        """The current state of ``stream`` (with this batch's earlier events), or None."""
        if stream not in self._states:
            state = self._load(stream)
            self._states[stream] = state
            self.reads.setdefault(stream, state.version if state is not None else 0)
        return self._states[stream]

    def subject(
        self, stream: str, kind: type[LedgerAggregate] | tuple[type, ...], what: str
    ) -> Any:
        """``stream``'s state, which must exist and be of ``kind``; LifecycleError otherwise."""
        state = self.get(stream)
        if state is None:
            raise LifecycleError(stream, f"{what} {stream!r} does not exist")
        if not isinstance(state, kind):
            raise LifecycleError(stream, f"{stream!r} is not a {what}")
        return state

    def roles(self, actor: str) -> frozenset[str]:
        """Roles ``actor`` holds: the root's, or those of its subject stream."""
        if actor == self.root_actor:
            return frozenset({ROOT_ROLE})
        state = self.get(actor)
        return state.roles() if state is not None else frozenset()

    def lookup(self, index: str, key: str) -> list[str]:
        """The streams filed under ``key`` in ``index`` (INDEXES): stored ones, then this
        batch's own, decided before, exactly as the replay of the log sees them."""
        if self._find is None:
            raise LifecycleError(key, f"the ledger cannot look up {index}")
        self.indexes_read.add(index)
        if (index, key) not in self._found:
            self._found[index, key] = self._find(index, key)
        streams = list(self._found[index, key])
        for e in self.decided:
            if (
                key in index_keys(index, type(e).__name__, e.body())
                and e.originator_id not in streams
            ):
                streams.append(e.originator_id)
        return streams

    def parties_of(self, platform: str) -> list[str]:
        """Providers onboarded by, and members registered with, ``platform`` (HN 8(10))."""
        return self.lookup("parties", platform)

    def promotions_of(self, item: str) -> list[Any]:
        """Every promotion that has named ``item`` (HN 8(12)), as it stands in this batch."""
        found = (self.get(stream) for stream in self.lookup("promotions", item))
        return [promotion for promotion in found if promotion is not None]

    # -- the policy ----------------------------------------------------------------------

    def applies(self, rule: int) -> bool:
        return self.policy.applies(rule)

    def articles(self, rule: int) -> str:
        hard = self.policy.rule(rule)
        return "; ".join(hard.articles) if hard is not None and hard.articles else "ledger"

    def violation(self, rule: int, problem: str) -> RuleViolationError:
        return RuleViolationError(rule, self.articles(rule), problem)

    def require(self, rule: int, ok: bool, problem: str) -> None:
        """Raise rule ``rule``'s violation when it applies under the policy and ``ok`` fails."""
        if not ok and self.applies(rule):
            raise self.violation(rule, problem)

    def expect_next(
        self,
        rule: int,
        test: Callable[[LedgerEvent], bool],
        problem: str,
        *,
        after_stream: str | None = None,
    ) -> None:
        """Require the next event (of this batch, so the next entry of the log) to pass
        ``test``: two entries that are one act, such as a voucher's redemption and its
        application to the order, are written together or not at all. With
        ``after_stream``, further events of that stream may come first (a registration's
        other steps before its identity claim), but no event of any other stream."""
        if self.applies(rule):
            self.expected = (rule, test, problem, after_stream)

    def finish(self) -> None:
        """The end of a batch: an act left half-written is refused."""
        if self.expected is not None:
            rule, _, problem, _ = self.expected
            self.expected = None
            raise self.violation(rule, problem)

    @property
    def time(self) -> datetime:
        """The time of the event being decided."""
        if self.event is None:
            raise LifecycleError("rules", "no event is being decided")
        return self.event.timestamp

    @property
    def day(self) -> date:
        return local_date(self.time)

    # -- deciding ------------------------------------------------------------------------

    def decide(self, event: LedgerEvent) -> None:
        """Check ``event`` against every rule, then let it change this batch's state."""
        stream = event.originator_id
        state = self.get(stream)
        if isinstance(event, LedgerCreated) != (state is None):
            raise LifecycleError(
                stream,
                f"{type(event).__name__} begins a stream, and {stream} already exists"
                if state is not None
                else f"does not exist; {type(event).__name__} follows its first event",
            )
        version = state.version if state is not None else 0
        if event.originator_version != version + 1:
            raise LifecycleError(
                stream,
                f"{type(event).__name__} is version {event.originator_version}, "
                f"but the stream is at version {version}",
            )
        if self.expected is not None:
            rule, test, problem, after_stream = self.expected
            if test(event):
                self.expected = None
            elif stream != after_stream:
                self.expected = None
                raise self.violation(rule, f"{problem}; {type(event).__name__} came next")
        check_shape(stream, type(event), event.body())
        self.event = event
        try:
            if event.ACTING and event.actor != self.root_actor:
                actor = self.get(event.actor)
                if actor is not None:
                    actor.standing(self)
            event.check(state, self)
            self._permitted(event)
            if self._copy_on_write and state is not None and stream not in self.written:
                state = copy.deepcopy(state)
            self._states[stream] = event.mutate(state)
            self.written.add(stream)
            self.decided.append(event)
        except (TypeError, ValueError, KeyError, AttributeError) as e:
            # A body member of the wrong type, or missing (a client-signed entry, a forged
            # log), breaks what the rules and the aggregate assume: refused, like any event
            # that does not follow from its stream, never an unexpected exception.
            raise LifecycleError(stream, f"{type(event).__name__} is malformed: {e!r}") from e
        finally:
            self.event = None

    def decide_all(self, events: Iterable[LedgerEvent]) -> None:
        for event in events:
            self.decide(event)
        self.finish()

    def _permitted(self, event: LedgerEvent) -> None:
        name = type(event).__name__
        permission = self.policy.permissions.get(name)
        allowed = permission.roles if permission is not None else ()
        held = set(self.roles(event.actor))
        if event.actor == event.originator_id:
            held.add(SELF_ROLE)
        if not held.intersection(allowed):
            articles = "; ".join(permission.articles) if permission is not None else ""
            raise NotPermittedError(event.actor, name, allowed, self.policy.name, articles)
