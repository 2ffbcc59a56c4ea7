"""Complaints: registered always, mediated at the platform, then at the authority.

HN 19(3), 19(4); AH 7, 10(5).

Who takes which step:

- registration: the complainant, whatever its standing (HN 19(3));
- acknowledgement: the handler, holding a role the policy permits to acknowledge complaints
  (HN 19(3): the hub or any window platform, whichever the complainant turned to, the one
  that acknowledges it; AH 10(5): the cloud operator). A handler that can no longer act
  (disqualified, or its appointment revoked) leaves the complaint to another handler. A
  complaint against a body that handles complaints itself goes to the body that supervises
  it, and that body handles no other (the policy's complaint supervisors,
  AH 7: 省人社厅, which owns and supervises the cloud platform, for complaints against the
  cloud operator or the cloud platform);
- mediation at the platform: by the platform that onboarded the respondent (HN 19(4)): a
  provider's admitting platform, a member's registering platform, a window platform's parent
  in the network. A hub or cloud platform has none, and the onboarding platform may itself be
  the complainant: such a complaint has no mediation at the platform and is resolved by its
  handler. The platform's roles are those the policy permits both to acknowledge and to
  mediate; where they are an organisation's (AH 10(5): the cloud operator, acting for the one
  cloud platform), the respondent must still have been onboarded by a platform;
- mediation at the authority: only after the platform's failed, by a holder of a role the
  policy permits to mediate but not to acknowledge: the local SME authority (HN 19(4):
  city_authority, or the provincial one), the 省人社厅 as the cloud platform's owner and
  supervisor (AH 7). Where the policy has authorities act by locality (HN 19(4), 24), the
  authority's region holds where the respondent lies: a provider or member where the
  platform that onboarded it lies, a window platform where it lies itself;
- the end: resolved by the handler, or by the mediator during mediation; after the
  authority's mediation failed, concluded by that authority (for instance referring the
  parties to arbitration or the courts); closed by the complainant with its feedback
  (AH 10(5)), after a resolution or after any failed mediation (HN 19(4): the consumer may
  seek redress through other channels), the latter as "closed unresolved".

Neither party, the complainant nor the respondent, ever handles, mediates or resolves the
complaint.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.core.errors import LedgerError
from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.registration import Member, Platform, Provider, check_local, placed
from ledger.domain.rules import RuleContext
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

LEVELS = ("platform", "authority")
HANDLING = "ComplaintAcknowledged"
MEDIATING = "MediationStarted"


def permitted(ctx: RuleContext, event: str) -> tuple[str, ...]:
    """The roles the policy permits to write ``event``."""
    permission = ctx.policy.permissions.get(event)
    return permission.roles if permission is not None else ()


def cited(ctx: RuleContext, event: str) -> str:
    """The articles the policy cites for ``event``."""
    permission = ctx.policy.permissions.get(event)
    return "; ".join(permission.articles) if permission is not None else ctx.policy.name


def supervisors(ctx: RuleContext) -> dict[str, str]:
    """Role of a respondent -> role of the body that handles complaints against it."""
    found = ctx.policy.parameters.complaint_supervisors
    return dict(found.roles) if found is not None else {}


def handler_roles(ctx: RuleContext) -> tuple[str, ...]:
    """Who handles complaints in general: the roles permitted to acknowledge them, less
    those that handle only complaints against the bodies they supervise."""
    kept = set(supervisors(ctx).values())
    return tuple(r for r in permitted(ctx, HANDLING) if r not in kept)


def mediator_roles(ctx: RuleContext, level: str) -> tuple[str, ...]:
    """Who mediates at ``level``: at the platform, the roles that both handle (acknowledge)
    and mediate complaints; at the authority, those that mediate but do not handle them."""
    handlers = set(handler_roles(ctx))
    return tuple(r for r in permitted(ctx, MEDIATING) if (r in handlers) == (level == "platform"))


def check_handler(ctx: RuleContext, actor: str, respondent: str) -> None:
    """A complaint against a supervised body (AH 7: the cloud operator, the cloud platform)
    is handled by its supervisor, and a supervisor handles no complaint against anyone else."""
    found = ctx.policy.parameters.complaint_supervisors
    if found is None:
        return
    roles, articles = dict(found.roles), "; ".join(found.articles)
    held = ctx.roles(actor)
    against = sorted(r for r in ctx.roles(respondent) if r in roles)
    if against:
        expected = tuple(sorted({roles[r] for r in against}))
        if not held & set(expected):
            raise NotPermittedError(
                actor,
                f"{HANDLING} of a complaint against the {', '.join(against)}",
                expected,
                ctx.policy.name,
                articles,
            )
    elif held & set(roles.values()) and not held & set(handler_roles(ctx)):
        raise NotPermittedError(
            actor,
            f"{HANDLING} of a complaint against {respondent}",
            handler_roles(ctx),
            ctx.policy.name,
            cited(ctx, HANDLING),
        )


def can_act(ctx: RuleContext, actor: str | None, event: str) -> bool:
    """Whether ``actor`` can still take a complaint's step ``event``: in good standing, and
    holding a role the policy permits for it. A handler or mediator that lost either (a
    window whose qualification was cancelled, an operator whose appointment was revoked)
    leaves its step to another, or the complaint would stay open for good."""
    state = ctx.get(actor) if actor is not None else None
    if state is None:
        return False
    try:
        state.standing(ctx)
    except LedgerError:
        return False
    return bool(ctx.roles(str(actor)) & set(permitted(ctx, event)))


def onboarding_platform(ctx: RuleContext, respondent: str) -> str | None:
    """The platform through which ``respondent`` joined the network (HN 19(4)), or None."""
    state = ctx.get(respondent)
    if isinstance(state, Platform):
        return state.parent
    if isinstance(state, Provider | Member):
        return state.platform
    return None


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
            if self.respondent == self.complainant:
                raise LifecycleError(stream, f"{self.complainant} cannot complain against itself")
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

        def check(self, state: Any, ctx: RuleContext) -> None:
            taken_over = state.status == "acknowledged" and not can_act(
                ctx, state.handler, HANDLING
            )
            if state.status != "registered" and not taken_over:
                raise LifecycleError(
                    state.id,
                    f"is {state.status}, not registered, nor acknowledged by a handler that "
                    f"can no longer act ({cited(ctx, HANDLING)})",
                )
            state.neutral(ctx, self.actor, "handles", HANDLING)
            check_handler(ctx, self.actor, state.respondent)

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.handler = "acknowledged", self.actor

    class MediationStarted(LedgerEvent):
        level: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if self.level not in LEVELS:
                raise LifecycleError(state.id, f"level {self.level!r} is not one of {LEVELS}")
            state.neutral(ctx, self.actor, "mediates", MEDIATING)
            allowed = mediator_roles(ctx, self.level)
            if permitted(ctx, MEDIATING) and not ctx.roles(self.actor) & set(allowed):
                raise NotPermittedError(
                    self.actor,
                    f"{MEDIATING} at the {self.level} level",
                    allowed,
                    ctx.policy.name,
                    cited(ctx, MEDIATING),
                )
            if self.level == "platform":
                state.expect("acknowledged")
                onboarding = onboarding_platform(ctx, state.respondent)
                if onboarding is None or onboarding == state.complainant:
                    raise LifecycleError(
                        state.id,
                        f"no platform other than a party onboarded {state.respondent}: there "
                        f"is no mediation at the platform ({cited(ctx, MEDIATING)}); "
                        f"the handler resolves the complaint",
                    )
                if isinstance(ctx.get(self.actor), Platform) and self.actor != onboarding:
                    raise LifecycleError(
                        state.id,
                        f"mediation is at {onboarding}, which onboarded the respondent "
                        f"({cited(ctx, MEDIATING)}), not at {self.actor}",
                    )
            elif not (
                (state.status == "mediation failed" and state.levels[-1:] == ["platform"])
                or (state.status == "mediating" and not can_act(ctx, state.mediator, MEDIATING))
            ):
                raise LifecycleError(
                    state.id,
                    "mediation at the authority follows failed mediation at the platform, or "
                    f"a mediator that can no longer act ({cited(ctx, MEDIATING)}); the "
                    f"complaint is {state.status}",
                )
            else:  # the authority of the locality where the respondent lies (HN 24)
                region, named = placed(ctx, ctx.get(state.respondent))
                check_local(ctx, self.actor, state.id, region, f"the complaint against {named}")

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

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.status == "mediation failed":
                if state.levels[-1:] != ["authority"]:
                    raise LifecycleError(
                        state.id,
                        "mediation at the platform failed: the authority mediates next, or the "
                        f"complainant closes the complaint ({cited(ctx, MEDIATING)})",
                    )
                # the end of mediation: the authority concludes (e.g. a referral to
                # arbitration or the courts)
                state.by(self.actor, state.mediator)
            else:
                state.expect("acknowledged", "mediating")
                state.by(self.actor, state.mediator or state.handler)
            # the handler and every mediator were checked not to be a party when they began

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "resolved"

    class ComplaintClosed(LedgerEvent):
        feedback: str
        satisfied: bool
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.expect("resolved", "mediation failed")
            state.by(self.actor, state.complainant)

        def apply(self, aggregate: Any) -> None:
            resolved = aggregate.status == "resolved"
            aggregate.status = "closed" if resolved else "closed unresolved"

    def expect(self, *statuses: str) -> None:
        if self.status not in statuses:
            raise LifecycleError(self.id, f"is {self.status}, not {' or '.join(statuses)}")

    def by(self, actor: str, expected: str | None) -> None:
        if actor != expected:
            raise LifecycleError(self.id, f"this step is {expected}'s, not {actor}'s")

    def neutral(self, ctx: RuleContext, actor: str, step: str, event: str) -> None:
        """No party ``step``s its own complaint."""
        for party, who in (("respondent", self.respondent), ("complainant", self.complainant)):
            if actor == who:
                raise LifecycleError(
                    self.id,
                    f"{actor} is the complaint's {party}, and a party never {step} it "
                    f"({cited(ctx, event)})",
                )

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
