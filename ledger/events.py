"""Domain events and aggregates of the ledger, on eventsourcing's aggregate model.

Events are frozen, past-tense facts; aggregates decide, events record. An event's
dataclass fields beyond the common ones are exactly its entry's ``body`` members.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from functools import cache
from typing import Any, ClassVar, Union, get_args, get_origin, get_type_hints

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
#: A SHA-256 digest as body members carry it (members named ``sha256`` or ``*_sha256``).
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
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

    def take_events(self) -> list[LedgerEvent]:
        """The pending events, taken out to be saved on their own: a batch may put another
        stream's entries between them and the ones this aggregate triggers next."""
        return [e for e in self.collect_events() if isinstance(e, LedgerEvent)]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "Event" not in cls.__dict__:
            cls.Event = LedgerEvent  # keeps eventsourcing from redefining our event classes
        super().__init_subclass__(**kwargs)
        for value in vars(cls).values():
            if isinstance(value, type) and issubclass(value, LedgerCreated):
                AGGREGATE_OF[value.__name__] = get_topic(cls)


@cache
def body_schema(cls: type[LedgerEvent]) -> dict[str, Any]:
    """The body members of ``cls``'s entries and their declared types."""
    return {
        name: hint
        for name, hint in get_type_hints(cls).items()
        if name not in ENVELOPE_FIELDS and get_origin(hint) is not ClassVar
    }


def check_body(cls: type[LedgerEvent], body: Mapping[str, Any]) -> None:
    """TypeError unless ``body`` has exactly ``cls``'s members, each of its declared type
    (FORMAT.md §1: a body's schema belongs to its type)."""
    schema = body_schema(cls)
    if missing := sorted(schema.keys() - body.keys()):
        raise TypeError(f"body lacks {', '.join(missing)}")
    if extra := sorted(body.keys() - schema.keys()):
        raise TypeError(f"body has unknown members {', '.join(extra)}")
    for name, hint in schema.items():
        value = body[name]
        if not _fits(value, hint):
            raise TypeError(f"{name} must be {_describe(hint)}, got {value!r}")
        digest = name == "sha256" or name.endswith("_sha256")
        if digest and value is not None and not SHA256_HEX.fullmatch(value):
            raise TypeError(f"{name} must be a SHA-256 digest in 64 lowercase hex digits")


def _fits(value: Any, hint: Any) -> bool:
    return _checker(hint)(value)


@cache
def _checker(hint: Any) -> Callable[[Any], bool]:
    """The test of a value against ``hint``, made once a type (bodies are checked often)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return lambda _value: True
    if origin in (Union, types.UnionType):
        alternatives = tuple(_checker(arg) for arg in args)
        return lambda value: any(fits(value) for fits in alternatives)
    if hint is type(None):
        return lambda value: value is None
    if hint is int:
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if hint in (str, bool):
        return lambda value: isinstance(value, hint)
    if origin is list:
        item = _checker(args[0])
        return lambda value: isinstance(value, list) and all(item(v) for v in value)
    if origin is dict:
        key, member = _checker(args[0]), _checker(args[1])
        return lambda value: (
            isinstance(value, dict) and all(key(k) and member(v) for k, v in value.items())
        )
    raise LedgerError(f"body member type {hint!r} is not one entries can carry")


_NAMES = {
    int: ("an integer", "integers"),
    str: ("a string", "strings"),
    bool: ("true or false", "true or false values"),
    type(None): ("null", "nulls"),
}


def _describe(hint: Any, *, plural: bool = False) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(arg, plural=plural) for arg in args)
    if origin is list:
        return f"{'lists' if plural else 'a list'} of {_describe(args[0], plural=True)}"
    if origin is dict:
        return f"{'objects' if plural else 'an object'} of {_describe(args[1], plural=True)}"
    return _NAMES.get(hint, ("any value", "any values"))[plural]


def event_class(type_name: str) -> type[LedgerEvent]:
    try:
        return EVENT_CLASSES[type_name]
    except KeyError:
        raise LedgerError(f"unknown event type {type_name!r}") from None


def aggregate_topic(type_name: str) -> str | None:
    return AGGREGATE_OF.get(type_name)
