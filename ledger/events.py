"""Domain events and aggregates of the ledger, on eventsourcing's aggregate model.

Events are frozen, past-tense facts; aggregates decide, events record. An event's
dataclass fields beyond the common ones are exactly its entry's ``body`` members.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, ClassVar

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)
from eventsourcing.utils import get_topic

from ledger.core.errors import LedgerError

#: Members of an event object that are envelope fields, never body members.
ENVELOPE_FIELDS = frozenset(
    {"originator_id", "originator_version", "timestamp", "actor", "originator_topic"}
)
EVENT_CLASSES: dict[str, type[LedgerEvent]] = {}
AGGREGATE_OF: dict[str, str] = {}
_CLOCK: ContextVar[Callable[[], datetime] | None] = ContextVar("ledger_event_clock", default=None)


@contextmanager
def event_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Events created inside the block take their time from ``clock`` (replays, simulations)."""
    token = _CLOCK.set(clock)
    try:
        yield
    finally:
        _CLOCK.reset(token)


class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """An event of a ledger stream; its class name is the entry's ``type``."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    actor: str

    ABSTRACT: ClassVar[bool] = True
    #: Whether the actor must be in good standing to write this event (DOMAIN.md §3
    #: rules 1, 2 and 4); applications, complaints and exits are written regardless.
    ACTING: ClassVar[bool] = True

    @staticmethod
    def create_timestamp() -> datetime:
        clock = _CLOCK.get()
        return clock() if clock is not None else datetime.now(UTC)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("ABSTRACT", False):
            return
        existing = EVENT_CLASSES.get(cls.__name__)
        if existing is not None and existing is not cls:
            raise LedgerError(f"event type {cls.__name__} is defined twice")
        EVENT_CLASSES[cls.__name__] = cls

    def check(self, state: Any, ctx: Any) -> None:
        """The hard rules this event must satisfy, given its aggregate's state before it.

        ``ctx`` is a :class:`ledger.domain.rules.RuleContext`: the policy in force and
        the current state of every other subject. It runs when the event is about to be
        stored (from a command or signed by a client), never on replay: what was valid
        when written stays history.
        """

    def body(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ENVELOPE_FIELDS}


class LedgerCreated(CanInitAggregate[str], LedgerEvent):
    """The first event of a stream: it constructs the aggregate."""

    originator_topic: str
    ABSTRACT: ClassVar[bool] = True


class LedgerAggregate(BaseAggregate[str]):
    """Base of the ledger's aggregates: ids are stream names."""

    Event = LedgerEvent

    def roles(self) -> frozenset[str]:
        """The roles this subject holds when it is an actor (none by default)."""
        return frozenset()

    def standing(self, ctx: Any) -> None:
        """Raise when this subject may not act now (unverified, unadmitted, barred)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "Event" not in cls.__dict__:
            cls.Event = LedgerEvent  # keeps eventsourcing from redefining our event classes
        super().__init_subclass__(**kwargs)
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, LedgerCreated):
                AGGREGATE_OF[value.__name__] = get_topic(cls)


def event_class(type_name: str) -> type[LedgerEvent]:
    try:
        return EVENT_CLASSES[type_name]
    except KeyError:
        raise LedgerError(f"unknown event type {type_name!r}") from None


def aggregate_topic(type_name: str) -> str | None:
    return AGGREGATE_OF.get(type_name)
