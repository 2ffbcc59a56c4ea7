"""Who takes part: organisations, platform nodes, providers, members and agreements.

HN 2, 4, 8(2), 8(3), 8(10), 9, 13-16, 18, 24; AH 21-28. Each subject's stream name is
also its actor name, so the standing of whoever signs an event is its stream's state.
"""

from __future__ import annotations

import calendar as _months
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from ledger.domain.errors import LifecycleError
from ledger.domain.rules import RuleContext
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

PLATFORM_LEVELS = ("hub", "cloud", "city", "county", "industry")
TOP_LEVELS = ("hub", "cloud")
MEMBER_KINDS = ("enterprise", "person")


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (clamped to the month's last day)."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, _months.monthrange(year, month)[1]))


def parse_day(value: Any, subject: str, what: str) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise LifecycleError(subject, f"{what} {value!r} is not a date (YYYY-MM-DD)") from None


def corrected_version(ctx: RuleContext, state: Any, corrects: Any) -> None:
    """Rule 13: a correction names an earlier event of the stream it corrects."""
    version = state.version if state is not None else 0
    ok = isinstance(corrects, int) and not isinstance(corrects, bool) and 1 <= corrects <= version
    ctx.require(
        13,
        ok,
        f"a correction must name an earlier event of {state.id if state else 'its stream'} "
        f"(versions 1..{version}); it names {corrects!r}",
    )


class Subject(LedgerAggregate):
    """Something that can be barred: blacklisted, disqualified, terminated (rule 4)."""

    if TYPE_CHECKING:
        barred: str | None

    def bar(self, reason: str) -> None:
        self.barred = reason

    def check_not_barred(self, ctx: RuleContext, what: str) -> None:
        barred = getattr(self, "barred", None)
        if barred is not None:
            raise ctx.violation(4, f"{what} {self.id} is {barred}")


class Registrant(Subject):
    """A subject that registered and may deregister: a provider or a member."""

    if TYPE_CHECKING:
        verified: bool
        deregistered: str | None

    def check_present(self) -> None:
        if self.deregistered is not None:
            raise LifecycleError(self.id, f"deregistered at {self.deregistered}")


class RealNameVerified(LedgerEvent):
    """A registrant's real identity was checked (AH 22, 26; HN 8(2), 18)."""

    ABSTRACT: ClassVar[bool] = True
    method: str

    def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
        state.check_present()

    def apply(self, aggregate: Any) -> None:
        aggregate.verified = True


class Barred(LedgerEvent):
    """A subject barred from acting from now on (rule 4: AH 28, HN 24)."""

    ABSTRACT: ClassVar[bool] = True
    BARRED_AS: ClassVar[str] = "blacklisted"
    reason: str

    def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
        if state.barred is not None:
            raise LifecycleError(state.id, f"is already {state.barred}")

    def apply(self, aggregate: Any) -> None:
        aggregate.bar(self.BARRED_AS)


class Deregistered(LedgerEvent):
    """A registrant left; written whatever its standing, its records stay (HN 8(8)).

    Its own exit needs no standing; a platform or authority deregistering it must be one
    in good standing (a platform only applied for, or disqualified, removes no one)."""

    ABSTRACT: ClassVar[bool] = True
    ACTING = False
    reason: str

    def check(self, state: Any, ctx: RuleContext) -> None:
        state.check_present()
        if self.actor not in (state.id, ctx.root_actor):
            actor = ctx.get(self.actor)
            if actor is not None:
                actor.standing(ctx)

    def apply(self, aggregate: Any) -> None:
        aggregate.deregistered = self.timestamp.isoformat()


# -- organisations: authorities, departments, operators, supervisors ------------------------


class Organisation(Subject):
    """An authority, department, operator or supervisor, with roles granted by the root."""

    if TYPE_CHECKING:
        granted: set[str]

    class OrganisationRegistered(LedgerCreated):
        name: str
        roles: list[str]
        parent: str | None

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _known_roles(ctx, self.originator_id, self.roles)

        def apply(self, aggregate: Any) -> None:
            aggregate.name, aggregate.granted, aggregate.barred = self.name, set(self.roles), None

    class RoleGranted(LedgerEvent):
        role: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            _known_roles(ctx, state.id, [self.role])
            if self.role in state.granted:
                raise LifecycleError(state.id, f"already holds role {self.role}")

        def apply(self, aggregate: Any) -> None:
            aggregate.granted.add(self.role)

    class RoleWithdrawn(LedgerEvent):
        role: str
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if self.role not in state.granted:
                raise LifecycleError(state.id, f"does not hold role {self.role}")

        def apply(self, aggregate: Any) -> None:
            aggregate.granted.discard(self.role)

    def roles(self) -> frozenset[str]:
        return frozenset(self.granted)

    def standing(self, ctx: RuleContext) -> None:
        self.check_not_barred(ctx, "organisation")

    @classmethod
    def register(
        cls, *, stream: str, actor: str, name: str, roles: list[str], parent: str | None = None
    ) -> Organisation:
        return cls._create(
            cls.OrganisationRegistered,
            id=stream,
            actor=actor,
            name=name,
            roles=roles,
            parent=parent,
        )

    def grant(self, *, actor: str, role: str) -> None:
        self.trigger_event(self.RoleGranted, actor=actor, role=role)

    def withdraw(self, *, actor: str, role: str, reason: str) -> None:
        self.trigger_event(self.RoleWithdrawn, actor=actor, role=role, reason=reason)


def _known_roles(ctx: RuleContext, subject: str, roles: list[str]) -> None:
    unknown = sorted(set(roles) - ctx.policy.roles.keys())
    if unknown or not roles:
        raise LifecycleError(
            subject,
            f"roles {unknown or roles} are not roles of {ctx.policy.name} "
            f"({', '.join(sorted(ctx.policy.roles))})",
        )


# -- platform nodes ------------------------------------------------------------------------


class Platform(Subject):
    """A platform node: applied, recommended by the city, certified by the province (HN 4)."""

    if TYPE_CHECKING:
        status: str
        level: str
        parent: str | None
        notice: dict[str, Any] | None
        notified: set[str]

    class PlatformApplied(LedgerCreated):
        name: str
        level: str  # hub | cloud | city | county | industry
        parent: str | None
        region: str
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.level not in PLATFORM_LEVELS:
                raise LifecycleError(
                    stream, f"level {self.level!r} is not one of {PLATFORM_LEVELS}"
                )
            if (self.parent is None) != (self.level in TOP_LEVELS):
                raise LifecycleError(
                    stream, "a hub or cloud platform has no parent; every window platform has one"
                )
            if self.parent is not None:
                ctx.subject(self.parent, Platform, "parent platform")

        def apply(self, aggregate: Any) -> None:
            aggregate.level, aggregate.parent, aggregate.name = self.level, self.parent, self.name
            aggregate.status, aggregate.barred = "applied", None
            aggregate.notice, aggregate.notified = None, set()

    class PlatformRecommended(LedgerEvent):
        opinion: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.status != "applied":
                raise LifecycleError(
                    state.id, f"is {state.status}; only an applicant is recommended"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "recommended"

    class PlatformCertified(LedgerEvent):
        certificate: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            ready = ("applied", "recommended") if state.level in TOP_LEVELS else ("recommended",)
            if state.status not in ready:
                raise LifecycleError(
                    state.id,
                    f"is {state.status}; a {state.level} platform is certified when "
                    f"{' or '.join(ready)} (HN 4)",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "certified"

    class PlatformQualificationCancelled(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.status != "certified":
                raise LifecycleError(
                    state.id, f"is {state.status}; there is no qualification to cancel"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "cancelled"
            aggregate.bar("disqualified (qualification cancelled)")

    class PlatformTerminationNoticed(LedgerEvent):
        effective_on: str
        announcement_sha256: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.notice is not None:
                raise LifecycleError(state.id, "has already given notice of termination")
            notice = ctx.policy.parameters.termination_notice
            effective = parse_day(self.effective_on, state.id, "effective_on")
            if notice is not None:
                earliest = add_months(ctx.day, notice.months)
                ctx.require(
                    11,
                    effective >= earliest,
                    f"termination on {effective} is less than {notice.months} months after the "
                    f"notice of {ctx.day}; the earliest is {earliest}",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.notice = {"effective_on": self.effective_on, "time": self.timestamp}

    class PartyNotified(LedgerEvent):
        party: str
        channel: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.notice is None:
                raise LifecycleError(state.id, "notifies parties only after the termination notice")
            if self.party in state.notified:
                raise LifecycleError(state.id, f"{self.party} was already notified")
            if self.party not in ctx.parties_of(state.id):
                raise LifecycleError(state.id, f"{self.party} is not a party of this platform")

        def apply(self, aggregate: Any) -> None:
            aggregate.notified.add(self.party)

    class PlatformTerminated(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.notice is None:
                raise ctx.violation(11, f"{state.id} terminates without a prior notice")
            effective = parse_day(state.notice["effective_on"], state.id, "effective_on")
            ctx.require(
                11,
                ctx.day >= effective,
                f"{state.id} gave notice to terminate on {effective}; it is {ctx.day}",
            )
            missing = sorted(set(ctx.parties_of(state.id)) - state.notified)
            ctx.require(
                11,
                not missing,
                f"{len(missing)} affected parties were not notified, e.g. {', '.join(missing[:3])}",
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "terminated"
            aggregate.bar("terminated")

    def roles(self) -> frozenset[str]:
        return frozenset({"platform", f"{self.level}_platform"})

    def standing(self, ctx: RuleContext) -> None:
        self.check_not_barred(ctx, "platform")
        if self.status != "certified":
            raise LifecycleError(self.id, f"is {self.status}, not certified: it cannot act yet")

    @classmethod
    def apply_for(
        cls, *, stream: str, actor: str, name: str, level: str, parent: str | None, region: str
    ) -> Platform:
        return cls._create(
            cls.PlatformApplied,
            id=stream,
            actor=actor,
            name=name,
            level=level,
            parent=parent,
            region=region,
        )

    def recommend(self, *, actor: str, opinion: str = "同意推荐") -> None:
        self.trigger_event(self.PlatformRecommended, actor=actor, opinion=opinion)

    def certify(self, *, actor: str, certificate: str) -> None:
        self.trigger_event(self.PlatformCertified, actor=actor, certificate=certificate)

    def cancel_qualification(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.PlatformQualificationCancelled, actor=actor, reason=reason)

    def give_notice(self, *, effective_on: date, announcement_sha256: str) -> None:
        self.trigger_event(
            self.PlatformTerminationNoticed,
            actor=self.id,
            effective_on=effective_on.isoformat(),
            announcement_sha256=announcement_sha256,
        )

    def notify(self, *, party: str, channel: str) -> None:
        self.trigger_event(self.PartyNotified, actor=self.id, party=party, channel=channel)

    def terminate(self, *, reason: str) -> None:
        self.trigger_event(self.PlatformTerminated, actor=self.id, reason=reason)


# -- providers ------------------------------------------------------------------------------


class Provider(Registrant):
    """A service provider: applied, verified, reviewed, admitted by an onboarding platform."""

    if TYPE_CHECKING:
        reviewed: bool
        admitted: bool
        platform: str | None
        valid_until: str | None
        suspended: str | None

    class ProviderApplied(LedgerCreated):
        name: str
        credit_code: str
        categories: list[str]
        ACTING = False

        def apply(self, aggregate: Any) -> None:
            aggregate.verified = aggregate.reviewed = aggregate.admitted = False
            aggregate.platform = aggregate.valid_until = None
            aggregate.suspended = aggregate.deregistered = aggregate.barred = None
            aggregate.categories = list(self.categories)

    class ProviderRealNameVerified(RealNameVerified):
        pass

    class ProviderQualificationReviewed(LedgerEvent):
        documents: list[dict[str, Any]]
        valid_until: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_present()
            until = parse_day(self.valid_until, state.id, "valid_until")
            if until < ctx.day:
                raise LifecycleError(state.id, f"qualification valid until {until} has expired")
            if not self.documents:
                raise LifecycleError(state.id, "a qualification review names its documents")

        def apply(self, aggregate: Any) -> None:
            aggregate.reviewed, aggregate.valid_until = True, self.valid_until

    class ProviderAdmitted(LedgerEvent):
        platform: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_present()
            state.check_not_barred(ctx, "provider")
            ctx.require(
                2,
                state.verified and state.reviewed,
                f"{state.id} is admitted only after real-name verification and qualification "
                f"review (verified: {state.verified}, reviewed: {state.reviewed})",
            )
            if state.valid_until is not None:
                ctx.require(
                    2,
                    ctx.day <= date.fromisoformat(state.valid_until),
                    f"{state.id}'s qualification expired on {state.valid_until}; "
                    "it is reviewed again before admission",
                )
            platform = ctx.subject(self.platform, Platform, "onboarding platform")
            platform.standing(ctx)
            if state.admitted:
                raise LifecycleError(state.id, f"is already admitted by {state.platform}")

        def apply(self, aggregate: Any) -> None:
            aggregate.admitted, aggregate.platform = True, self.platform

    class ProviderReverified(LedgerEvent):
        method: str
        valid_until: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_present()
            if parse_day(self.valid_until, state.id, "valid_until") < ctx.day:
                raise LifecycleError(state.id, f"valid_until {self.valid_until} is already past")

        def apply(self, aggregate: Any) -> None:
            aggregate.verified, aggregate.valid_until = True, self.valid_until

    class ProviderSuspended(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.check_present()
            if state.suspended is not None:
                raise LifecycleError(state.id, "is already suspended")

        def apply(self, aggregate: Any) -> None:
            aggregate.suspended = self.reason

    class ProviderReinstated(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_present()
            state.check_not_barred(ctx, "provider")
            if state.suspended is None:
                raise LifecycleError(state.id, "is not suspended")

        def apply(self, aggregate: Any) -> None:
            aggregate.suspended = None

    class ProviderBlacklisted(Barred):
        pass

    class ProviderQualificationCancelled(Barred):
        BARRED_AS = "disqualified (qualification cancelled)"

    class ProviderDeregistered(Deregistered):
        pass

    def roles(self) -> frozenset[str]:
        return frozenset({"provider"})

    def standing(self, ctx: RuleContext) -> None:
        self.check_not_barred(ctx, "provider")
        self.check_present()
        ctx.require(1, self.verified, f"provider {self.id} has not been real-name verified")
        ctx.require(
            2,
            self.reviewed and self.admitted,
            f"provider {self.id} has not been qualification-reviewed and admitted "
            f"(reviewed: {self.reviewed}, admitted: {self.admitted})",
        )
        ctx.require(2, self.suspended is None, f"provider {self.id} is suspended: {self.suspended}")
        if self.valid_until is not None:
            ctx.require(
                2,
                ctx.day <= date.fromisoformat(self.valid_until),
                f"provider {self.id}'s qualification expired on {self.valid_until}",
            )

    @classmethod
    def apply_for(
        cls, *, stream: str, actor: str, name: str, credit_code: str, categories: list[str]
    ) -> Provider:
        return cls._create(
            cls.ProviderApplied,
            id=stream,
            actor=actor,
            name=name,
            credit_code=credit_code,
            categories=categories,
        )

    def verify_real_name(self, *, actor: str, method: str) -> None:
        self.trigger_event(self.ProviderRealNameVerified, actor=actor, method=method)

    def review(self, *, actor: str, documents: list[dict[str, Any]], valid_until: str) -> None:
        self.trigger_event(
            self.ProviderQualificationReviewed,
            actor=actor,
            documents=documents,
            valid_until=valid_until,
        )

    def admit(self, *, actor: str, platform: str) -> None:
        self.trigger_event(self.ProviderAdmitted, actor=actor, platform=platform)

    def reverify(self, *, actor: str, method: str, valid_until: str) -> None:
        self.trigger_event(
            self.ProviderReverified, actor=actor, method=method, valid_until=valid_until
        )

    def suspend(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ProviderSuspended, actor=actor, reason=reason)

    def reinstate(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ProviderReinstated, actor=actor, reason=reason)

    def blacklist(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ProviderBlacklisted, actor=actor, reason=reason)

    def cancel_qualification(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ProviderQualificationCancelled, actor=actor, reason=reason)

    def deregister(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.ProviderDeregistered, actor=actor, reason=reason)


# -- consumers and enterprise members ------------------------------------------------------


class Member(Registrant):
    """A consumer or enterprise member; personal information only as ``$pi`` commitments."""

    if TYPE_CHECKING:
        kind: str
        platform: str
        age_check: dict[str, Any] | None

    class MemberRegistered(LedgerCreated):
        kind: str  # enterprise | person
        name: Any  # an enterprise's name, or a person's name as a commitment
        credit_code: str | None  # enterprises
        identity: dict[str, Any]  # commitments: ID card number, birth date, phone, address
        platform: str
        age_check: dict[str, Any] | None  # AH 25, persons: the result, never the birth date
        state_owned: bool | None  # AH 25, enterprises

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.kind not in MEMBER_KINDS:
                raise LifecycleError(stream, f"kind {self.kind!r} is not one of {MEMBER_KINDS}")
            ctx.subject(self.platform, Platform, "platform").standing(ctx)
            ages = ctx.policy.parameters.user_age_range
            if self.kind == "person" and ages is not None:
                expected = f"{ages.min_years}-{ages.max_years}"
                check = self.age_check or {}
                ctx.require(
                    3,
                    check.get("range") == expected
                    and check.get("result") == "within"
                    and check.get("checked_on") == ctx.day.isoformat(),
                    f"a person registers only when aged {expected} on the day of registration "
                    f"({ctx.day}); the age check recorded is {self.age_check!r}",
                )
            if self.kind == "enterprise":
                ctx.require(
                    3,
                    self.state_owned is False,
                    f"only non-state-owned enterprises register (state_owned: {self.state_owned})",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.kind, aggregate.platform = self.kind, self.platform
            aggregate.age_check = self.age_check
            aggregate.verified, aggregate.deregistered, aggregate.barred = False, None, None

    class MemberRealNameVerified(RealNameVerified):
        pass

    class MemberBlacklisted(Barred):
        pass

    class MemberDeregistered(Deregistered):
        pass

    def roles(self) -> frozenset[str]:
        return frozenset({"member"})

    def standing(self, ctx: RuleContext) -> None:
        self.check_not_barred(ctx, "member")
        self.check_present()
        ctx.require(1, self.verified, f"member {self.id} has not been real-name verified")

    @classmethod
    def register(
        cls,
        *,
        stream: str,
        actor: str,
        kind: str,
        name: Any,
        credit_code: str | None,
        identity: dict[str, Any],
        platform: str,
        age_check: dict[str, Any] | None = None,
        state_owned: bool | None = None,
    ) -> Member:
        return cls._create(
            cls.MemberRegistered,
            id=stream,
            actor=actor,
            kind=kind,
            name=name,
            credit_code=credit_code,
            identity=identity,
            platform=platform,
            age_check=age_check,
            state_owned=state_owned,
        )

    def verify_real_name(self, *, actor: str, method: str) -> None:
        self.trigger_event(self.MemberRealNameVerified, actor=actor, method=method)

    def blacklist(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.MemberBlacklisted, actor=actor, reason=reason)

    def deregister(self, *, actor: str, reason: str) -> None:
        self.trigger_event(self.MemberDeregistered, actor=actor, reason=reason)


def age_on(birth: date, day: date) -> int:
    """Completed years of age on ``day`` for someone born on ``birth``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def age_check(birth: date, day: date, ctx_range: tuple[int, int]) -> dict[str, Any]:
    """AH 25's result for a birth date read from a disclosure: never the date itself."""
    low, high = ctx_range
    age = age_on(birth, day)
    return {
        "range": f"{low}-{high}",
        "result": "within" if low <= age <= high else ("below" if age < low else "above"),
        "checked_on": day.isoformat(),
        "source": "ID card birth date (disclosure)",
    }


# -- platform agreements (HN 8(3)) ----------------------------------------------------------


class Agreement(LedgerAggregate):
    """A platform agreement: its versions, each published with the digest of its text."""

    if TYPE_CHECKING:
        versions: dict[int, str]

    class AgreementPublished(LedgerCreated):
        title: str
        version: int
        sha256: str
        effective_from: str

        def apply(self, aggregate: Any) -> None:
            aggregate.versions = {self.version: self.effective_from}

    class AgreementRevised(LedgerEvent):
        version: int
        sha256: str
        effective_from: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            latest = max(state.versions)
            if self.version != latest + 1:
                raise LifecycleError(
                    state.id, f"version {self.version} does not follow version {latest}"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.versions[self.version] = self.effective_from

    @classmethod
    def publish(
        cls, *, stream: str, actor: str, title: str, sha256: str, effective_from: str
    ) -> Agreement:
        return cls._create(
            cls.AgreementPublished,
            id=stream,
            actor=actor,
            title=title,
            version=1,
            sha256=sha256,
            effective_from=effective_from,
        )

    def revise(self, *, actor: str, sha256: str, effective_from: str) -> None:
        self.trigger_event(
            self.AgreementRevised,
            actor=actor,
            version=max(self.versions) + 1,
            sha256=sha256,
            effective_from=effective_from,
        )


class Acceptance(LedgerAggregate):
    """Stream ``acceptance/<agreement>/<actor>``: the versions one party accepted."""

    class AgreementAccepted(LedgerCreated):
        agreement: str
        version: int

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _accepts(self, ctx)

        def apply(self, aggregate: Any) -> None:
            aggregate.accepted = [self.version]

    class AgreementVersionAccepted(LedgerEvent):
        agreement: str
        version: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            _accepts(self, ctx)
            if self.version <= max(state.accepted):
                raise LifecycleError(state.id, f"version {self.version} was already accepted")

        def apply(self, aggregate: Any) -> None:
            aggregate.accepted.append(self.version)

    @classmethod
    def accept(cls, *, actor: str, agreement: str, version: int) -> Acceptance:
        return cls._create(
            cls.AgreementAccepted,
            id=acceptance_stream(agreement, actor),
            actor=actor,
            agreement=agreement,
            version=version,
        )

    def accept_version(self, *, actor: str, agreement: str, version: int) -> None:
        self.trigger_event(
            self.AgreementVersionAccepted, actor=actor, agreement=agreement, version=version
        )


def acceptance_stream(agreement: str, actor: str) -> str:
    return f"acceptance/{agreement}/{actor}"


def _accepts(event: Any, ctx: RuleContext) -> None:
    stream = event.originator_id
    if stream != acceptance_stream(event.agreement, event.actor):
        raise LifecycleError(
            stream,
            f"an acceptance by {event.actor} belongs in "
            f"{acceptance_stream(event.agreement, event.actor)!r}",
        )
    agreement = ctx.subject(event.agreement, Agreement, "agreement")
    if event.version not in agreement.versions:
        raise LifecycleError(stream, f"{event.agreement} has no version {event.version}")
