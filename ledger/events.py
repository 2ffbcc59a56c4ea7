"""Domain events and aggregates of the ledger, on eventsourcing's aggregate model.

Events are frozen, past-tense facts; aggregates decide, events record. An event's
dataclass fields beyond the common ones are exactly its entry's ``body`` members.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self

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


class LedgerEvent(CanMutateAggregate[str], metaclass=MetaDomainEvent):
    """An event of a ledger stream; its class name is the entry's ``type``."""

    originator_id: str
    originator_version: int
    timestamp: datetime
    actor: str

    ABSTRACT: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get("ABSTRACT", False):
            return
        existing = EVENT_CLASSES.get(cls.__name__)
        if existing is not None and existing is not cls:
            raise LedgerError(f"event type {cls.__name__} is defined twice")
        EVENT_CLASSES[cls.__name__] = cls

    def check(self, aggregate: Any) -> None:
        """The hard rules this event must satisfy against the aggregate's state.

        Runs when the event is decided by a command and when a client submits it
        signed, never on replay: what was valid when written stays history.
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

    @classmethod
    def _create(cls, event_class: Any, *, id: Any = None, **kwargs: Any) -> Self:
        aggregate = super()._create(event_class, id=id, **kwargs)
        created: Any = aggregate.pending_events[0]
        created.check(None)
        return aggregate

    def trigger_event(self, event_class: Any, **kwargs: Any) -> None:
        """As eventsourcing's, but the event's rules are checked before it mutates."""
        kwargs = {**kwargs, "originator_id": self.id, "originator_version": self.version + 1}
        if kwargs.get("timestamp") is None:
            kwargs["timestamp"] = event_class.create_timestamp()
        event = event_class(**kwargs)
        event.check(self)
        event.mutate(self)
        self.pending_events.append(event)

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
