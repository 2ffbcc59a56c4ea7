"""Complaints: registered always, mediated at the platform, then at the authority.

HN 19(3), 19(4); AH 10(5).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LifecycleError
from ledger.domain.rules import RuleContext
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

LEVELS = ("platform", "authority")


class Complaint(LedgerAggregate):
    """Stream ``complaint/<id>``: from registration to closing with the complainant's feedback."""

    if TYPE_CHECKING:
        complainant: str
        respondent: str
        status: str
        handler: str | None
        mediator: str | None
        levels: list[str]

    class ComplaintRegistered(LedgerCreated):
        complainant: str
        respondent: str
        about: str | None  # the order or service record complained about
        summary: str
        ACTING = False  # every complaint is registered (HN 19(3))

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.actor != self.complainant:
                raise LifecycleError(stream, "a complaint is registered by its complainant")
            if ctx.get(self.respondent) is None:
                raise LifecycleError(stream, f"respondent {self.respondent!r} does not exist")
            if self.about is not None and ctx.get(self.about) is None:
                raise LifecycleError(stream, f"{self.about!r} does not exist")

        def apply(self, aggregate: Any) -> None:
            aggregate.complainant, aggregate.respondent = self.complainant, self.respondent
            aggregate.status, aggregate.handler, aggregate.mediator = "registered", None, None
            aggregate.levels = []

    class ComplaintAcknowledged(LedgerEvent):
        reference: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.expect("registered")

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.handler = "acknowledged", self.actor

    class MediationStarted(LedgerEvent):
        level: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if self.level == "platform":
                state.expect("acknowledged")
                onboarding = getattr(ctx.get(state.respondent), "platform", None)
                if ctx.get(self.actor).__class__.__name__ == "Platform" and onboarding not in (
                    None,
                    self.actor,
                ):
                    raise LifecycleError(
                        state.id,
                        f"mediation is at {onboarding}, which onboarded the respondent (HN 19(4))",
                    )
            elif self.level == "authority":
                if state.status != "mediation failed" or state.levels[-1:] != ["platform"]:
                    raise LifecycleError(
                        state.id,
                        "mediation at the authority follows failed mediation at the platform "
                        f"(HN 19(4)); the complaint is {state.status}",
                    )
            else:
                raise LifecycleError(state.id, f"level {self.level!r} is not one of {LEVELS}")

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.mediator = "mediating", self.actor
            aggregate.levels.append(self.level)

    class MediationFailed(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.expect("mediating")
            state.by(self.actor, state.mediator)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "mediation failed"

    class ComplaintResolved(LedgerEvent):
        outcome: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.expect("acknowledged", "mediating")
            state.by(self.actor, state.mediator or state.handler)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "resolved"

    class ComplaintClosed(LedgerEvent):
        feedback: str
        satisfied: bool
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.expect("resolved")
            state.by(self.actor, state.complainant)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "closed"

    def expect(self, *statuses: str) -> None:
        if self.status not in statuses:
            raise LifecycleError(self.id, f"is {self.status}, not {' or '.join(statuses)}")

    def by(self, actor: str, expected: str | None) -> None:
        if actor != expected:
            raise LifecycleError(self.id, f"this step is {expected}'s, not {actor}'s")

    @classmethod
    def register(
        cls, *, stream: str, complainant: str, respondent: str, about: str | None, summary: str
    ) -> Complaint:
        return cls._create(
            cls.ComplaintRegistered,
            id=stream,
            actor=complainant,
            complainant=complainant,
            respondent=respondent,
            about=about,
            summary=summary,
        )

    def acknowledge(self, *, actor: str, reference: str) -> None:
        self.trigger_event(self.ComplaintAcknowledged, actor=actor, reference=reference)

    def mediate(self, *, actor: str, level: str) -> None:
        self.trigger_event(self.MediationStarted, actor=actor, level=level)

    def mediation_failed(self, *, reason: str) -> None:
        self.trigger_event(self.MediationFailed, actor=self.mediator, reason=reason)

    def resolve(self, *, actor: str, outcome: str) -> None:
        self.trigger_event(self.ComplaintResolved, actor=actor, outcome=outcome)

    def close(self, *, feedback: str, satisfied: bool) -> None:
        self.trigger_event(
            self.ComplaintClosed, actor=self.complainant, feedback=feedback, satisfied=satisfied
        )
