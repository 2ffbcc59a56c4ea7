"""What is offered: service items and promotions (HN 6, 8(8), 8(12), 8(14); AH 12, 14)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Platform, Provider
from ledger.domain.rules import RuleContext
from ledger.events import SHA256_HEX, LedgerAggregate, LedgerCreated, LedgerEvent

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
PROMOTION_TERMS = ("items", "terms", "starts_on", "ends_on")


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
            state.check_not_promoted(ctx, "updated")

        def apply(self, aggregate: Any) -> None:
            aggregate.fields.update(self.changes)

    class ItemWithdrawn(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_open(self.actor)
            state.check_not_promoted(ctx, "withdrawn")

        def apply(self, aggregate: Any) -> None:
            aggregate.withdrawn = True

    def check_not_promoted(self, ctx: RuleContext, what: str) -> None:
        """Rule 10: an item under a promotion keeps its terms until the promotion is over;
        it is neither updated nor withdrawn (and published again at another price)."""
        for promotion in ctx.promotions_of(self.id):
            ctx.require(
                10,
                not promotion.holds(self.id, ctx.day),
                f"{self.id} is in {promotion.id}, planned until {promotion.plan['ends_on']}: "
                f"it is not {what} until the promotion is over (a plan changes only by force "
                "majeure, through the promotion)",
            )

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


def promotion_day(value: Any, subject: str, what: str) -> date:
    """A date of a promotion's period, written YYYY-MM-DD."""
    try:
        day = date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or day.isoformat() != value:
        raise LifecycleError(subject, f"{what} {value!r} is not a date (YYYY-MM-DD)")
    return day


def check_plan(
    ctx: RuleContext, subject: str, organiser: str, plan: dict[str, Any], *, items: bool
) -> None:
    """A promotion's plan (HN 8(12)): the organiser's open items it covers (checked when
    ``items`` is set: they are named anew), its terms, and a period that ends on or after
    the day it starts."""
    covered = plan["items"]
    if not isinstance(covered, list) or not covered or not all(isinstance(i, str) for i in covered):
        raise LifecycleError(subject, f"a promotion names the items it covers, got {covered!r}")
    if items:
        for item in covered:
            found = ctx.subject(item, ServiceItem, "service item")
            if found.withdrawn or found.provider != organiser:
                raise LifecycleError(subject, f"{item} is not an open item of {organiser}")
    if not isinstance(plan["terms"], str) or not plan["terms"].strip():
        raise LifecycleError(subject, f"a promotion states its terms, got {plan['terms']!r}")
    starts = promotion_day(plan["starts_on"], subject, "starts_on")
    ends = promotion_day(plan["ends_on"], subject, "ends_on")
    if ends < starts:
        raise LifecycleError(subject, f"a promotion ending on {ends} cannot start on {starts}")


def check_force_majeure(ctx: RuleContext, basis: dict[str, Any] | None, change: str) -> None:
    """Rule 10: a promotion's plan changes only by force majeure, described and evidenced."""
    description = (basis or {}).get("description")
    evidence = (basis or {}).get("evidence_sha256")
    ctx.require(
        10,
        isinstance(description, str)
        and bool(description.strip())
        and isinstance(evidence, str)
        and SHA256_HEX.fullmatch(evidence) is not None,
        f"{change} only with a force-majeure basis "
        "(description and evidence digest, 64 lowercase hex digits)",
    )


class Promotion(LedgerAggregate):
    """Stream ``promotion/<id>``: a promotion whose plan changes only by force majeure."""

    if TYPE_CHECKING:
        organiser: str
        plan: dict[str, Any]
        ended: bool

    class PromotionAnnounced(LedgerCreated):
        items: list[str]
        terms: str
        starts_on: str
        ends_on: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            plan = {term: getattr(self, term) for term in PROMOTION_TERMS}
            check_plan(ctx, self.originator_id, self.actor, plan, items=True)

        def apply(self, aggregate: Any) -> None:
            aggregate.organiser, aggregate.ended = self.actor, False
            aggregate.plan = {term: getattr(self, term) for term in PROMOTION_TERMS}
            aggregate.plan["items"] = list(self.items)

    class PromotionChanged(LedgerEvent):
        changes: dict[str, Any]
        force_majeure: dict[str, Any] | None  # {"description": ..., "evidence_sha256": ...}

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_open(self.actor)
            unknown = sorted(set(self.changes) - set(PROMOTION_TERMS))
            if unknown or not self.changes:
                raise LifecycleError(
                    state.id,
                    f"changes must name promotion terms {PROMOTION_TERMS}, got {unknown or '{}'}",
                )
            plan = {**state.plan, **self.changes}
            check_plan(ctx, state.id, state.organiser, plan, items="items" in self.changes)
            check_force_majeure(ctx, self.force_majeure, "a promotion's plan changes")

        def apply(self, aggregate: Any) -> None:
            for term in PROMOTION_TERMS:
                if term in self.changes:
                    value = self.changes[term]
                    aggregate.plan[term] = list(value) if term == "items" else value

    class PromotionEnded(LedgerEvent):
        reason: str
        force_majeure: dict[str, Any] | None  # needed only before the end date

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_open(self.actor)
            ends_on = state.ends_on
            if ctx.day < ends_on:
                check_force_majeure(
                    ctx,
                    self.force_majeure,
                    f"a promotion planned to end on {ends_on} ends early, on {ctx.day},",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.ended = True

    def holds(self, item: str, day: date) -> bool:
        """Whether ``item``'s terms are held by this promotion on ``day``: from its
        announcement until it ends or its planned end date is past."""
        return not self.ended and item in self.plan["items"] and day <= self.ends_on

    @property
    def ends_on(self) -> date:
        """The last day of the promotion, as its plan now stands."""
        return promotion_day(self.plan["ends_on"], self.id, "ends_on")

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

    def end(self, *, actor: str, reason: str, force_majeure: dict[str, Any] | None = None) -> None:
        self.trigger_event(
            self.PromotionEnded, actor=actor, reason=reason, force_majeure=force_majeure
        )
