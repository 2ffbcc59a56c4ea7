"""What is offered: service items and promotions (HN 6, 8(8), 8(12), 8(14); AH 12, 14)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Platform, Provider
from ledger.domain.rules import RuleContext
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

CHARGES = ("free", "commercial")
ITEM_FIELDS = (
    "title",
    "category",
    "function",
    "charge",
    "fee_fen",
    "content",
    "standard",
    "process",
    "time_limit_days",
)


def check_charge(ctx: RuleContext, subject: str, fields: dict[str, Any]) -> None:
    """Rule 7 and plain consistency: a free item, or a free policy function, has no fee."""
    charge, fee = fields["charge"], fields["fee_fen"]
    if charge not in CHARGES:
        raise LifecycleError(subject, f"charge {charge!r} is not one of {CHARGES}")
    if not isinstance(fee, int) or isinstance(fee, bool) or fee < 0:
        raise LifecycleError(subject, f"fee_fen must be a non-negative integer, got {fee!r}")
    free = ctx.policy.parameters.free_service_functions
    if free is not None and fields["function"] in free.functions:
        ctx.require(
            7,
            charge == "free" and fee == 0,
            f"{fields['function']} is a free service; it cannot charge {fee} fen ({charge})",
        )
    if charge == "free" and fee != 0:
        raise LifecycleError(subject, f"a free item has no fee, got {fee} fen")


def publisher_of(
    ctx: RuleContext, subject: str, provider: str, actor: str, self_operated: bool
) -> None:
    """Items are published by their provider, or by a platform as self-operated (HN 10)."""
    state = ctx.get(provider)
    if isinstance(state, Provider):
        if actor != provider:
            raise LifecycleError(subject, f"{actor} cannot publish items of {provider}")
        if self_operated:
            raise LifecycleError(
                subject, "a provider's own item is not self-operated by a platform"
            )
    elif isinstance(state, Platform):
        if actor != provider or not self_operated:
            raise LifecycleError(subject, "a platform publishes only its own self-operated items")
    else:
        raise LifecycleError(subject, f"{provider!r} is neither a provider nor a platform")


class ServiceItem(LedgerAggregate):
    """Stream ``item/<id>``: a service or product offered, with its terms."""

    if TYPE_CHECKING:
        provider: str
        fields: dict[str, Any]
        withdrawn: bool

    class ItemPublished(LedgerCreated):
        provider: str
        title: str
        category: str
        function: str
        charge: str
        fee_fen: int
        content: str
        standard: str
        process: str
        time_limit_days: int
        self_operated: bool

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            publisher_of(ctx, stream, self.provider, self.actor, self.self_operated)
            check_charge(ctx, stream, {f: getattr(self, f) for f in ITEM_FIELDS})

        def apply(self, aggregate: Any) -> None:
            aggregate.provider = self.provider
            aggregate.fields = {f: getattr(self, f) for f in ITEM_FIELDS}
            aggregate.self_operated, aggregate.withdrawn = self.self_operated, False

    class ItemUpdated(LedgerEvent):
        changes: dict[str, Any]

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_open(self.actor)
            unknown = sorted(set(self.changes) - set(ITEM_FIELDS))
            if unknown or not self.changes:
                raise LifecycleError(
                    state.id, f"changes must name item fields, got {unknown or '{}'}"
                )
            check_charge(ctx, state.id, {**state.fields, **self.changes})

        def apply(self, aggregate: Any) -> None:
            aggregate.fields.update(self.changes)

    class ItemWithdrawn(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.check_open(self.actor)

        def apply(self, aggregate: Any) -> None:
            aggregate.withdrawn = True

    def check_open(self, actor: str) -> None:
        if self.withdrawn:
            raise LifecycleError(self.id, "was withdrawn")
        if actor != self.provider:
            raise LifecycleError(self.id, f"only {self.provider} changes its item, not {actor}")

    @property
    def free(self) -> bool:
        return bool(self.fields["charge"] == "free")

    @classmethod
    def publish(
        cls, *, stream: str, actor: str, provider: str, self_operated: bool = False, **fields: Any
    ) -> ServiceItem:
        return cls._create(
            cls.ItemPublished,
            id=stream,
            actor=actor,
            provider=provider,
            self_operated=self_operated,
            **fields,
        )

    def update(self, *, actor: str, changes: dict[str, Any]) -> None:
        self.trigger_event(self.ItemUpdated, actor=actor, changes=changes)

    def withdraw(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ItemWithdrawn, actor=actor, reason=reason)


class Promotion(LedgerAggregate):
    """Stream ``promotion/<id>``: a promotion whose plan changes only by force majeure."""

    if TYPE_CHECKING:
        organiser: str
        ended: bool

    class PromotionAnnounced(LedgerCreated):
        items: list[str]
        terms: str
        starts_on: str
        ends_on: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            for item in self.items:
                found = ctx.subject(item, ServiceItem, "service item")
                if found.withdrawn or found.provider != self.actor:
                    raise LifecycleError(
                        self.originator_id, f"{item} is not an open item of {self.actor}"
                    )
            if not self.items or self.starts_on > self.ends_on:
                raise LifecycleError(self.originator_id, "a promotion names items and a period")

        def apply(self, aggregate: Any) -> None:
            aggregate.organiser, aggregate.ended = self.actor, False

    class PromotionChanged(LedgerEvent):
        changes: dict[str, Any]
        force_majeure: dict[str, Any] | None  # {"description": ..., "evidence_sha256": ...}

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_open(self.actor)
            basis = self.force_majeure or {}
            ctx.require(
                10,
                bool(basis.get("description")) and bool(basis.get("evidence_sha256")),
                "a promotion's plan changes only with a force-majeure basis "
                "(description and evidence digest)",
            )

        def apply(self, aggregate: Any) -> None:
            pass

    class PromotionEnded(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.check_open(self.actor)

        def apply(self, aggregate: Any) -> None:
            aggregate.ended = True

    def check_open(self, actor: str) -> None:
        if self.ended:
            raise LifecycleError(self.id, "has ended")
        if actor != self.organiser:
            raise LifecycleError(self.id, f"only {self.organiser} changes its promotion")

    @classmethod
    def announce(
        cls, *, stream: str, actor: str, items: list[str], terms: str, starts_on: str, ends_on: str
    ) -> Promotion:
        return cls._create(
            cls.PromotionAnnounced,
            id=stream,
            actor=actor,
            items=items,
            terms=terms,
            starts_on=starts_on,
            ends_on=ends_on,
        )

    def change(
        self, *, actor: str, changes: dict[str, Any], force_majeure: dict[str, Any] | None
    ) -> None:
        self.trigger_event(
            self.PromotionChanged, actor=actor, changes=changes, force_majeure=force_majeure
        )

    def end(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.PromotionEnded, actor=actor, reason=reason)
