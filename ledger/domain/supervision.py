"""Supervision: sanctions, reported statistics, authorisations, exports, plans, evaluations.

HN 7(8), 14, 17, 24, 25; AH 7, 8, 27, 34.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Platform, corrected_version, parse_day
from ledger.domain.rules import RuleContext
from ledger.domain.trading import amount
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

#: The figures a platform reports for a period (HN 23 statistics, HN 7(8)).
FIGURES = ("items", "services", "enterprise_times", "enterprises", "evaluations", "satisfied")
#: Months in one period of each unit: a year, a half-year, a quarter, a month.
PERIOD_MONTHS = {"Y": 12, "H": 6, "Q": 3, "M": 1}
#: What :func:`parse_period` reads: the canonical spellings, and the same in lower case,
#: without the hyphen before H or Q, or with a one-digit month.
_PERIOD = re.compile(r"([1-9][0-9]{3})(?:-?([HQ])([0-9]{1,2})|-([0-9]{1,2}))?")


@dataclass(frozen=True)
class Period:
    """A period statistics or recovered funds are for: a calendar year, half-year,
    quarter or month (HN 7(8), 14, 25).

    Each period has exactly one spelling, ``str(period)``: ``2026``, ``2026-H1``,
    ``2026-Q3``, ``2026-11``. Periods of different units are different periods even
    where they overlap (``2026-Q3`` and ``2026-07``).
    """

    year: int
    unit: str
    index: int

    def __str__(self) -> str:
        if self.unit == "Y":
            return f"{self.year}"
        if self.unit == "M":
            return f"{self.year}-{self.index:02d}"
        return f"{self.year}-{self.unit}{self.index}"

    @property
    def first_day(self) -> date:
        return date(self.year, 1 + (self.index - 1) * PERIOD_MONTHS[self.unit], 1)


def parse_period(text: str) -> Period | None:
    """The period ``text`` denotes, or None when it denotes none."""
    found = _PERIOD.fullmatch(text.strip().upper())
    if found is None:
        return None
    year, unit, index, month = found.groups()
    if month is not None:
        unit, index = "M", month
    elif unit is None:
        unit, index = "Y", "1"
    period = Period(int(year), unit, int(index))
    return period if 1 <= period.index <= 12 // PERIOD_MONTHS[unit] else None


def spelled(period: str) -> str:
    """``period`` in its one spelling, or as given when it denotes no period."""
    parsed = parse_period(period)
    return str(parsed) if parsed is not None else period


def check_period(ctx: RuleContext, stream: str, period: str) -> None:
    """LifecycleError unless ``period`` is a period in its one spelling that has begun."""
    parsed = parse_period(period)
    if parsed is None:
        raise LifecycleError(
            stream,
            f"period {period!r} is not a year, half-year, quarter or month "
            "(2026, 2026-H1, 2026-Q3, 2026-11)",
        )
    if str(parsed) != period:
        raise LifecycleError(stream, f"period {period!r} is spelled {str(parsed)!r}")
    if parsed.first_day > ctx.day:
        raise LifecycleError(stream, f"period {period} begins on {parsed.first_day}")


class FundRecovery(LedgerAggregate):
    """Stream ``recovery/<id>``: subsidy funds ordered back (HN 25), then repaid."""

    if TYPE_CHECKING:
        subject: str
        ordered_fen: int
        repaid_fen: int

    class FundRecoveryOrdered(LedgerCreated):
        subject: str
        amount_fen: int
        period: str
        basis: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            amount(self.originator_id, self.amount_fen)
            check_period(ctx, self.originator_id, self.period)
            if ctx.get(self.subject) is None:
                raise LifecycleError(self.originator_id, f"{self.subject!r} does not exist")

        def apply(self, aggregate: Any) -> None:
            aggregate.subject, aggregate.ordered_fen, aggregate.repaid_fen = (
                self.subject,
                self.amount_fen,
                0,
            )

    class FundsRepaid(LedgerEvent):
        amount_fen: int
        payment_ref: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            left = state.ordered_fen - state.repaid_fen
            if amount(state.id, self.amount_fen) > left:
                raise LifecycleError(state.id, f"only {left} fen are still to be repaid")

        def apply(self, aggregate: Any) -> None:
            aggregate.repaid_fen += self.amount_fen

    @classmethod
    def order(
        cls, *, stream: str, actor: str, subject: str, amount_fen: int, period: str, basis: str
    ) -> FundRecovery:
        return cls._create(
            cls.FundRecoveryOrdered,
            id=stream,
            actor=actor,
            subject=subject,
            amount_fen=amount_fen,
            period=spelled(period),
            basis=basis,
        )

    def repaid(self, *, actor: str, amount_fen: int, payment_ref: str) -> None:
        self.trigger_event(
            self.FundsRepaid, actor=actor, amount_fen=amount_fen, payment_ref=payment_ref
        )


class AwardRevocation(LedgerAggregate):
    """Stream ``award-revocation/<id>``: a demonstration title or award withdrawn (HN 25)."""

    class AwardRevoked(LedgerCreated):
        subject: str
        award: str
        basis: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if ctx.get(self.subject) is None:
                raise LifecycleError(self.originator_id, f"{self.subject!r} does not exist")

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def revoke(
        cls, *, stream: str, actor: str, subject: str, award: str, basis: str
    ) -> AwardRevocation:
        return cls._create(
            cls.AwardRevoked, id=stream, actor=actor, subject=subject, award=award, basis=basis
        )


def _figures(subject: str, figures: Any) -> None:
    if not isinstance(figures, dict) or set(figures) != set(FIGURES):
        raise LifecycleError(subject, f"figures are exactly {list(FIGURES)}")
    for name in FIGURES:
        amount(subject, figures[name], f"figures.{name}", positive=False)


class StatisticsReport(LedgerAggregate):
    """Stream ``report/<platform>/<period>``: the statistics a platform declared for one
    period, in the period's one spelling. A period is reported once: a second report is
    a correction on the same stream, naming the version it corrects (rule 13)."""

    if TYPE_CHECKING:
        platform: str

    class StatisticsReported(LedgerCreated):
        platform: str
        period: str
        figures: dict[str, int]

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            check_period(ctx, stream, self.period)
            if stream != f"report/{self.platform}/{self.period}" or self.actor != self.platform:
                raise LifecycleError(
                    stream,
                    f"{self.platform} reports its own statistics in "
                    f"report/{self.platform}/{self.period}",
                )
            ctx.subject(self.platform, Platform, "platform")
            _figures(stream, self.figures)

        def apply(self, aggregate: Any) -> None:
            aggregate.platform = self.platform

    class StatisticsCorrected(LedgerEvent):
        corrects: int
        figures: dict[str, int]
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            corrected_version(ctx, state, self.corrects)
            if self.actor != state.platform:
                raise LifecycleError(state.id, f"only {state.platform} corrects its report")
            _figures(state.id, self.figures)

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def report(cls, *, platform: str, period: str, figures: dict[str, int]) -> StatisticsReport:
        period = spelled(period)
        return cls._create(
            cls.StatisticsReported,
            id=f"report/{platform}/{period}",
            actor=platform,
            platform=platform,
            period=period,
            figures=figures,
        )

    def correct(self, *, corrects: int, figures: dict[str, int], reason: str) -> None:
        self.trigger_event(
            self.StatisticsCorrected,
            actor=self.platform,
            corrects=corrects,
            figures=figures,
            reason=reason,
        )


class Authorisation(LedgerAggregate):
    """Stream ``authorisation/<id>``: an admin's authorisation (AH 27) or data sharing (AH 34)."""

    if TYPE_CHECKING:
        kind: str
        grantor: str
        grantee: str
        scope: list[str]
        valid_until: str
        withdrawn: bool

    class AdminAuthorised(LedgerCreated):
        """AH 27: an admin acts on its department head's authorisation, so the grantor
        holds the pack's grantor role, the admin its admin role, and they are two actors:
        an actor holding both roles does not authorise itself."""

        admin: str
        scope: list[str]
        valid_until: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            rule = ctx.policy.parameters.admin_authorisation
            if rule is None:
                raise LifecycleError(self.originator_id, f"{ctx.policy.name} has no admin rule")
            ctx.require(
                5,
                rule.grantor_role in ctx.roles(self.actor),
                f"an admin's authorisation is granted by {rule.grantor_role}, not by {self.actor}",
            )
            ctx.require(
                5,
                rule.admin_role in ctx.roles(self.admin),
                f"{self.admin} is not a {rule.admin_role}",
            )
            ctx.require(
                5,
                self.actor != self.admin,
                f"{self.admin} cannot authorise itself: the authorisation comes from "
                f"its {rule.grantor_role}",
            )
            department = getattr(ctx.get(self.admin), "parent", None)
            ctx.require(
                5,
                department is not None and getattr(ctx.get(self.actor), "parent", 0) == department,
                f"{self.actor} does not head {self.admin}'s department "
                f"({department or 'the admin belongs to none'}): AH 27's authorisation comes "
                "from the head of the admin's own department",
            )
            _grant(self, ctx)

        def apply(self, aggregate: Any) -> None:
            _granted(aggregate, self, "admin", self.admin)

    class DataSharingAuthorised(LedgerCreated):
        grantee: str
        purpose: str
        scope: list[str]
        valid_until: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            rule = ctx.policy.parameters.data_sharing
            role = rule.authoriser_role if rule is not None else None
            ctx.require(
                8,
                role in ctx.roles(self.actor),
                f"data sharing is authorised only by {role}, not by {self.actor}",
            )
            _grant(self, ctx)

        def apply(self, aggregate: Any) -> None:
            _granted(aggregate, self, "data sharing", self.grantee)

    class AuthorisationWithdrawn(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.withdrawn or self.actor != state.grantor:
                raise LifecycleError(state.id, f"only {state.grantor} withdraws it, once")

        def apply(self, aggregate: Any) -> None:
            aggregate.withdrawn = True

    def valid_for(
        self, ctx: RuleContext, rule: int, kind: str, grantee: str, scope: list[str]
    ) -> None:
        """Rule ``rule``: this is a prior, unwithdrawn, unexpired ``kind`` for ``grantee``."""
        ctx.require(rule, self.kind == kind, f"{self.id} is not an authorisation of {kind}")
        ctx.require(rule, self.grantee == grantee, f"{self.id} was granted to {self.grantee}")
        ctx.require(rule, not self.withdrawn, f"{self.id} was withdrawn")
        ctx.require(
            rule,
            ctx.day <= date.fromisoformat(self.valid_until),
            f"{self.id} expired on {self.valid_until}",
        )
        outside = sorted(set(scope) - set(self.scope))
        ctx.require(rule, not outside, f"{', '.join(outside)} is outside {self.id}'s scope")

    @classmethod
    def authorise_admin(
        cls, *, stream: str, actor: str, admin: str, scope: list[str], valid_until: str
    ) -> Authorisation:
        return cls._create(
            cls.AdminAuthorised,
            id=stream,
            actor=actor,
            admin=admin,
            scope=scope,
            valid_until=valid_until,
        )

    @classmethod
    def authorise_sharing(
        cls,
        *,
        stream: str,
        actor: str,
        grantee: str,
        purpose: str,
        scope: list[str],
        valid_until: str,
    ) -> Authorisation:
        return cls._create(
            cls.DataSharingAuthorised,
            id=stream,
            actor=actor,
            grantee=grantee,
            purpose=purpose,
            scope=scope,
            valid_until=valid_until,
        )

    def withdraw(self, *, reason: str) -> None:
        self.trigger_event(self.AuthorisationWithdrawn, actor=self.grantor, reason=reason)


def _grant(event: Any, ctx: RuleContext) -> None:
    stream = event.originator_id
    if parse_day(event.valid_until, stream, "valid_until") < ctx.day or not event.scope:
        raise LifecycleError(stream, "an authorisation names its scope and a validity not past")


def _granted(aggregate: Any, event: Any, kind: str, grantee: str) -> None:
    aggregate.kind, aggregate.grantor, aggregate.grantee = kind, event.actor, grantee
    aggregate.scope, aggregate.valid_until = list(event.scope), event.valid_until
    aggregate.withdrawn = False


def _authorisation(ctx: RuleContext, rule: int, stream: str) -> Authorisation:
    found = ctx.get(stream)
    if not isinstance(found, Authorisation):
        raise ctx.violation(rule, f"{stream!r} is not an authorisation in this ledger")
    return found


class AdminAction(LedgerAggregate):
    """Stream ``admin-action/<id>``: one action of a government-service admin (AH 27)."""

    class AdminActionRecorded(LedgerCreated):
        authorisation: str
        action: str
        subject: str
        detail: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            found = _authorisation(ctx, 5, self.authorisation)
            found.valid_for(ctx, 5, "admin", self.actor, [self.action])

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def record(
        cls, *, stream: str, actor: str, authorisation: str, action: str, subject: str, detail: str
    ) -> AdminAction:
        return cls._create(
            cls.AdminActionRecorded,
            id=stream,
            actor=actor,
            authorisation=authorisation,
            action=action,
            subject=subject,
            detail=detail,
        )


class DataExport(LedgerAggregate):
    """Stream ``export/<id>``: business data handed to a third party (AH 34)."""

    class DataExported(LedgerCreated):
        authorisation: str | None
        recipient: str
        scope: list[str]
        records: int
        sha256: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if not ctx.applies(8):
                return
            if self.authorisation is None:
                raise ctx.violation(
                    8,
                    f"exporting {', '.join(self.scope)} to {self.recipient} "
                    "names no data-sharing authorisation",
                )
            found = _authorisation(ctx, 8, self.authorisation)
            found.valid_for(ctx, 8, "data sharing", self.recipient, self.scope)

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def export(
        cls,
        *,
        stream: str,
        actor: str,
        authorisation: str | None,
        recipient: str,
        scope: list[str],
        records: int,
        sha256: str,
    ) -> DataExport:
        return cls._create(
            cls.DataExported,
            id=stream,
            actor=actor,
            authorisation=authorisation,
            recipient=recipient,
            scope=scope,
            records=records,
            sha256=sha256,
        )


class WorkPlan(LedgerAggregate):
    """Stream ``plan/<platform>/<year>``: a platform's annual work plan (HN 17)."""

    class WorkPlanFiled(LedgerCreated):
        platform: str
        year: int
        sha256: str
        summary: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if (
                self.originator_id != f"plan/{self.platform}/{self.year}"
                or self.actor != self.platform
            ):
                raise LifecycleError(
                    self.originator_id,
                    f"{self.platform} files its own plan in plan/{self.platform}/{self.year}",
                )
            ctx.subject(self.platform, Platform, "platform")

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def file(cls, *, platform: str, year: int, sha256: str, summary: str) -> WorkPlan:
        return cls._create(
            cls.WorkPlanFiled,
            id=f"plan/{platform}/{year}",
            actor=platform,
            platform=platform,
            year=year,
            sha256=sha256,
            summary=summary,
        )


class AnnualEvaluation(LedgerAggregate):
    """Stream ``annual-evaluation/<subject>/<year>``: a yearly performance evaluation (AH 7)."""

    class AnnualEvaluationRecorded(LedgerCreated):
        subject: str
        year: int
        grade: str
        sha256: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if self.originator_id != f"annual-evaluation/{self.subject}/{self.year}":
                raise LifecycleError(self.originator_id, "one evaluation per subject and year")
            if ctx.get(self.subject) is None:
                raise LifecycleError(self.originator_id, f"{self.subject!r} does not exist")

        def apply(self, aggregate: Any) -> None:
            pass

    @classmethod
    def record(
        cls, *, actor: str, subject: str, year: int, grade: str, sha256: str
    ) -> AnnualEvaluation:
        return cls._create(
            cls.AnnualEvaluationRecorded,
            id=f"annual-evaluation/{subject}/{year}",
            actor=actor,
            subject=subject,
            year=year,
            grade=grade,
            sha256=sha256,
        )
