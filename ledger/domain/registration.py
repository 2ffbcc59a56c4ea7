"""Who takes part: organisations, platform nodes, providers, members and agreements.

HN 2, 4, 8(2), 8(3), 8(10), 9, 13-16, 18, 24; AH 21-28. Each subject's stream name is
also its actor name, so the standing of whoever signs an event is its stream's state.
"""

from __future__ import annotations

import calendar as _months
import re
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from ledger.domain.errors import LifecycleError
from ledger.domain.rules import RuleContext
from ledger.events import SHA256_HEX, LedgerAggregate, LedgerCreated, LedgerEvent

MEMBER_KINDS = ("enterprise", "person")
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PERSON_INDEX = re.compile(r"[0-9a-f]{64}")
REGION_CODE = re.compile(r"[0-9]{6}")


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
        registrar: str
        platform: str | None  # a provider's onboarding platform; a member's platform

    def check_present(self) -> None:
        if self.deregistered is not None:
            raise LifecycleError(self.id, f"deregistered at {self.deregistered}")

    def check_handled_by(self, ctx: RuleContext, actor: str) -> None:
        """Once it has a platform, a platform handles it only from that platform or above."""
        if self.platform is not None:
            check_acts_for(ctx, self.id, actor, ctx.get(self.platform))


class RealNameVerified(LedgerEvent):
    """A registrant's real identity was checked (AH 22, 26; HN 8(2), 18)."""

    ABSTRACT: ClassVar[bool] = True
    method: str

    def check(self, state: Any, ctx: RuleContext) -> None:
        state.check_present()
        claim = identity_of(state)
        held = ctx.get(claim) if claim is not None else None
        registering = ctx.expected is not None and ctx.expected[3] == state.id
        if not registering and (held is None or held.holder != state.id):
            raise LifecycleError(
                state.id,
                f"{identity_label(str(claim))} is now held by "
                f"{held.holder if held is not None else 'no one'}; this registration is not "
                "verified under it",
            )
        state.check_handled_by(ctx, self.actor)

    def apply(self, aggregate: Any) -> None:
        aggregate.verified = True


class Barred(LedgerEvent):
    """A subject barred from acting from now on (rule 4: AH 28, HN 24)."""

    ABSTRACT: ClassVar[bool] = True
    BARRED_AS: ClassVar[str] = "blacklisted"
    reason: str

    def check(self, state: Any, ctx: RuleContext) -> None:
        if state.barred is not None:
            raise LifecycleError(state.id, f"is already {state.barred}")
        check_local(ctx, self.actor, state.id, *placed(ctx, state))

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
            state.check_handled_by(ctx, self.actor)

    def apply(self, aggregate: Any) -> None:
        aggregate.deregistered = self.timestamp.isoformat()


# -- identities (rule 4) --------------------------------------------------------------------


def credit_check_character(first17: str) -> str:
    """The check character of a unified social credit code (GB 32100-2015)."""
    total = sum(
        CREDIT_CODE_CHARS.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS, strict=False)
    )
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def with_check_character(first17: str) -> str:
    """``first17`` completed to a unified social credit code."""
    return first17 + credit_check_character(first17)


def credit_code_problem(code: object) -> str | None:
    """Why ``code`` is not a unified social credit code (GB 32100-2015); None when it is."""
    if not isinstance(code, str) or len(code) != 18 or not set(code) <= set(CREDIT_CODE_CHARS):
        return f"credit code {code!r} is not 18 characters of {CREDIT_CODE_CHARS} (GB 32100-2015)"
    check = credit_check_character(code[:17])
    if code[17] != check:
        return f"credit code {code} ends in {code[17]}, but its check character is {check}"
    return None


def identity_stream(kind: str, key: str) -> str:
    """The stream that says who holds an identity: ``identity/<kind>/<key>``, where the key
    is a credit code (providers, enterprises) or a person's keyed ID-card index."""
    return f"identity/{kind}/{key}"


def identity_label(stream: str) -> str:
    """How errors name an identity: a credit code, or a person by the start of the index."""
    _, kind, key = stream.split("/", 2)
    return (
        f"the person with ID-card index {key[:12]}…" if kind == "person" else f"credit code {key}"
    )


def identity_of(registrant: Any) -> str | None:
    """The identity stream a registrant's registration claims."""
    if isinstance(registrant, Provider):
        return identity_stream("provider", registrant.credit_code)
    if isinstance(registrant, Member):
        key = registrant.credit_code if registrant.kind == "enterprise" else registrant.index
        return identity_stream(registrant.kind, str(key))
    return None


def check_identity(ctx: RuleContext, registrant: str, claim: str, also: tuple[str, ...]) -> None:
    """A new registration's identity is not held by anyone present, nor by anyone barred
    (rule 4: a blacklisted or disqualified subject does not return under a new stream),
    and the registration claims it before any entry of another stream."""
    for stream in (claim, *also):
        held: Identity | None = ctx.get(stream)
        if held is not None:
            held.check_free(ctx, registrant, reclaim=stream == claim)

    def claims_it(event: LedgerEvent) -> bool:
        return (
            isinstance(event, Identity.IdentityClaimed | Identity.IdentityReclaimed)
            and event.originator_id == claim
            and event.holder == registrant
        )

    ctx.expect_next(
        4,
        claims_it,
        f"{registrant}'s registration must be followed by its claim of {claim}",
        after_stream=registrant,
    )


class Identity(LedgerAggregate):
    """Stream ``identity/<kind>/<key>``: which registrant holds a credit code, or a person's
    identity, so that no identity is registered twice at once and a barred subject cannot
    come back under a new stream (rule 4). A person's key is a keyed index of the ID-card
    number (HMAC-SHA-256 under the operator's secret): equal for the same person, and not
    the number itself; whoever holds the disclosure and the secret can check it."""

    if TYPE_CHECKING:
        holder: str
        holders: list[str]  # every holder it has had, the current one last

    class IdentityClaimed(LedgerCreated):
        holder: str
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _claims(self, ctx)

        def apply(self, aggregate: Any) -> None:
            aggregate.holder, aggregate.holders = self.holder, [self.holder]

    class IdentityReclaimed(LedgerEvent):
        """A registrant that deregistered comes back, under a new stream (HN 8(8))."""

        holder: str
        previous: str
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:
            if self.previous != state.holder:
                raise LifecycleError(state.id, f"is held by {state.holder}, not {self.previous}")
            state.check_free(ctx, self.holder, reclaim=True)
            _claims(self, ctx)

        def apply(self, aggregate: Any) -> None:
            aggregate.holder = self.holder
            aggregate.holders.append(self.holder)

    def check_free(self, ctx: RuleContext, registrant: str, *, reclaim: bool) -> None:
        """Whether ``registrant`` may take this identity (or, ``reclaim`` False, one of
        another kind with the same key). Only holders whose real names were verified count:
        a stream that applied with someone else's credit code and was never verified binds
        nothing, and gives way to the next registration of that identity."""
        for stream in self.holders:
            holder = ctx.get(stream)
            if holder.barred is not None and holder.verified:
                raise ctx.violation(
                    4,
                    f"{identity_label(self.id)} belongs to {holder.id}, which is "
                    f"{holder.barred}; it does not register again under a new stream",
                )
        current = ctx.get(self.holder)
        if reclaim and current.deregistered is None and current.verified:
            raise LifecycleError(
                registrant, f"{identity_label(self.id)} is already registered as {current.id}"
            )

    @classmethod
    def claimed_by(cls, registrant: Provider | Member, held: Any) -> Identity:
        """The claim ``registrant``'s registration writes with it, by its registrar: of a
        new identity (``held`` None), or of one whose earlier holder gives way."""
        return cls.claim(
            held if isinstance(held, Identity) else None,
            stream=str(identity_of(registrant)),
            holder=registrant.id,
            actor=registrant.registrar,
        )

    @classmethod
    def claim(cls, held: Identity | None, *, stream: str, holder: str, actor: str) -> Identity:
        """``held`` (the identity's current state, or None) claimed by ``holder``."""
        if held is None:
            return cls._create(cls.IdentityClaimed, id=stream, actor=actor, holder=holder)
        held.trigger_event(cls.IdentityReclaimed, actor=actor, holder=holder, previous=held.holder)
        return held


def _claims(event: Any, ctx: RuleContext) -> None:
    """The claimed identity is the one ``holder`` registered with, claimed by its registrar."""
    stream = event.originator_id
    holder = ctx.get(event.holder)
    if identity_of(holder) != stream:
        raise LifecycleError(
            stream, f"{event.holder} did not register with the identity {stream!r}"
        )
    holder.check_present()
    if event.actor != holder.registrar:
        raise LifecycleError(
            stream, f"{holder.id}'s identity is claimed by its registrar {holder.registrar}"
        )


# -- regions: administrative division codes (GB/T 2260) -------------------------------------


def region_problem(code: object) -> str | None:
    """Why ``code`` is not an administrative division code (GB/T 2260); None when it is:
    six digits, two each for the province, the city within it and the county within that,
    a level above the county ending in zeros."""
    shape = (
        "six digits, such as 430000 for a province, 430100 for a city within it, 430121 for "
        "a county within that"
    )
    if not isinstance(code, str) or REGION_CODE.fullmatch(code) is None:
        return f"region {code!r} is not an administrative division code (GB/T 2260): {shape}"
    if code.startswith("00") or (code[2:4] == "00" and code[4:] != "00"):
        return (
            f"region {code} is not an administrative division code (GB/T 2260): it names "
            f"no province, or a county but no city; {shape}"
        )
    return None


def region_prefix(code: str) -> str:
    """The digits that name a division: its code without the trailing pairs of zeros."""
    while code.endswith("00"):
        code = code[:-2]
    return code


def within(inner: str, outer: str) -> bool:
    """Whether division ``inner`` lies within division ``outer``, or is it."""
    return inner.startswith(region_prefix(outer))


def check_region(ctx: RuleContext, subject: str, region: object) -> None:
    """``region`` is a division code, within the province where the policy names one."""
    problem = region_problem(region)
    if problem is not None:
        raise LifecycleError(subject, problem)
    locality = ctx.policy.parameters.locality
    if locality is not None and not within(str(region), locality.province):
        raise LifecycleError(
            subject,
            f"region {region} does not lie within {locality.province}, the province of "
            f"{ctx.policy.name} ({'; '.join(locality.articles)})",
        )


def placed(ctx: RuleContext, state: Any) -> tuple[str | None, str]:
    """Where a subject lies by the locality principle (HN 24), and how errors name it: a
    platform where it lies; a provider or member where the platform that onboarded it
    lies, or nowhere below the province when none has; an organisation in its region."""
    if isinstance(state, Platform | Organisation):
        return state.region, state.id
    platform = getattr(state, "platform", None)
    if isinstance(platform, str):
        return getattr(ctx.get(platform), "region", None), f"{state.id}, onboarded by {platform},"
    return None, f"{state.id}, onboarded by no platform,"


def check_local(ctx: RuleContext, actor: str, subject: str, region: str | None, what: str) -> None:
    """Under the policy's locality (HN 19(4), 24), an authority bound by it acts only on
    what lies within its own region: ``what``, lying in ``region`` (None: in the province
    as a whole, such as a provider no platform onboarded). Locality narrows what the
    policy permits: an authority not permitted the event at all is refused for that."""
    locality = ctx.policy.parameters.locality
    if locality is None:
        return
    authority = ctx.get(actor)
    if not isinstance(authority, Organisation) or not authority.granted & set(locality.roles):
        return
    permission = ctx.policy.permissions.get(type(ctx.event).__name__)
    if permission is None or not authority.granted & set(permission.roles):
        return
    where = region or locality.province
    if authority.region is not None and within(where, authority.region):
        return
    raise LifecycleError(
        subject,
        f"{what} lies in {where}, outside {actor}'s region {authority.region}: an authority "
        "acts within its own region, and a case beyond it goes to the authority above "
        f"({'; '.join(locality.articles)})",
    )


def _locates(ctx: RuleContext, subject: str, roles: Any, region: str | None) -> None:
    """A holder of a role that acts by locality is registered with its region."""
    locality = ctx.policy.parameters.locality
    if locality is None:
        return
    bound = sorted(set(roles) & set(locality.roles))
    if bound and region is None:
        raise LifecycleError(
            subject,
            f"a {', '.join(bound)} acts within its region ({'; '.join(locality.articles)}) "
            "and is registered with it: an administrative division code such as 430100",
        )


# -- organisations: authorities, departments, operators, supervisors ------------------------


class Organisation(Subject):
    """An authority, department, operator or supervisor, with roles granted by the root;
    an authority with the region it acts in (HN 19(4), 24)."""

    if TYPE_CHECKING:
        granted: set[str]
        parent: str | None  # the department (or body) an organisation belongs to
        region: str | None  # an administrative division code (GB/T 2260)

    class OrganisationRegistered(LedgerCreated):
        name: str
        roles: list[str]
        parent: str | None
        region: str | None

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _known_roles(ctx, self.originator_id, self.roles)
            if self.parent is not None:
                ctx.subject(self.parent, Organisation, "parent organisation")
            if self.region is not None:
                check_region(ctx, self.originator_id, self.region)
            _locates(ctx, self.originator_id, self.roles, self.region)

        def apply(self, aggregate: Any) -> None:
            aggregate.name, aggregate.granted, aggregate.barred = self.name, set(self.roles), None
            aggregate.parent, aggregate.region = self.parent, self.region

    class RoleGranted(LedgerEvent):
        role: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            _known_roles(ctx, state.id, [self.role])
            _appoints(ctx, state.id, self.actor, self.role)
            if self.role in state.granted:
                raise LifecycleError(state.id, f"already holds role {self.role}")
            _locates(ctx, state.id, [self.role], state.region)

        def apply(self, aggregate: Any) -> None:
            aggregate.granted.add(self.role)

    class RoleWithdrawn(LedgerEvent):
        role: str
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            _appoints(ctx, state.id, self.actor, self.role)
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
        cls,
        *,
        stream: str,
        actor: str,
        name: str,
        roles: list[str],
        parent: str | None = None,
        region: str | None = None,
    ) -> Organisation:
        return cls._create(
            cls.OrganisationRegistered,
            id=stream,
            actor=actor,
            name=name,
            roles=roles,
            parent=parent,
            region=region,
        )

    def grant(self, *, actor: str, role: str) -> None:
        self.trigger_event(self.RoleGranted, actor=actor, role=role)

    def withdraw(self, *, actor: str, role: str, reason: str) -> None:
        self.trigger_event(self.RoleWithdrawn, actor=actor, role=role, reason=reason)


def _appoints(ctx: RuleContext, subject: str, actor: str, role: str) -> None:
    """Roles are granted and withdrawn by the root, or by the body the policy makes the
    appointer of that one role (AH 3, 7: 省人社厅 appoints and revokes the operator)."""
    if actor == ctx.root_actor:
        return
    appointments = ctx.policy.parameters.appointments
    appointer = appointments.roles.get(role) if appointments is not None else None
    if appointer is None or appointer not in ctx.roles(actor):
        raise LifecycleError(
            subject,
            f"{actor} does not appoint {role}"
            + (
                f": the {appointer} does ({'; '.join(appointments.articles)})"
                if appointer is not None and appointments is not None
                else "; only the root grants or withdraws it"
            ),
        )


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
    """A platform node: applied, recommended by the city, certified by the province (HN 4);
    it lies in its region, within its parent's (HN 2: a county window within its city)."""

    if TYPE_CHECKING:
        status: str
        level: str
        parent: str | None
        region: str  # an administrative division code (GB/T 2260)
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
            network = ctx.policy.parameters.platform_network
            articles = "; ".join(network.articles)
            if self.level not in network.levels():
                raise LifecycleError(
                    stream,
                    f"level {self.level!r} is not a platform level of {ctx.policy.name} "
                    f"({', '.join(network.levels())}; {articles})",
                )
            if (self.parent is None) != (self.level == network.top):
                raise LifecycleError(
                    stream,
                    f"the {network.top} platform has no parent; every other platform has one "
                    f"({articles})",
                )
            if self.parent is None:
                for other in ctx.lookup("platforms", "top"):
                    if other != stream and ctx.get(other).barred is None:
                        raise LifecycleError(
                            stream,
                            f"the network has one {network.top} platform, and {other} is it "
                            f"({articles})",
                        )
            if self.parent is not None:
                parent = ctx.subject(self.parent, Platform, "parent platform")
                parent.standing(ctx)
                below = network.children.get(parent.level, ())
                if self.level not in below:
                    raise LifecycleError(
                        stream,
                        f"a {self.level} platform does not apply under the {parent.level} "
                        f"platform {parent.id}, which has "
                        f"{', '.join(below) or 'no'} platforms beneath it ({articles})",
                    )
            check_region(ctx, stream, self.region)
            if self.parent is not None:
                parent = ctx.get(self.parent)
                if not within(self.region, parent.region):
                    raise LifecycleError(
                        stream,
                        f"region {self.region} does not lie within {parent.region}, the region "
                        f"of its parent platform {parent.id}: a platform serves a part of its "
                        f"parent's region ({articles})",
                    )

        def apply(self, aggregate: Any) -> None:
            aggregate.level, aggregate.parent, aggregate.name = self.level, self.parent, self.name
            aggregate.region = self.region
            aggregate.status, aggregate.barred = "applied", None
            aggregate.notice, aggregate.notified = None, set()

    class PlatformRecommended(LedgerEvent):
        opinion: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.status != "applied":
                raise LifecycleError(
                    state.id, f"is {state.status}; only an applicant is recommended"
                )
            check_local(ctx, self.actor, state.id, state.region, state.id)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "recommended"

    class PlatformCertified(LedgerEvent):
        certificate: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            top = state.level == ctx.policy.parameters.platform_network.top
            ready = ("applied", "recommended") if top else ("recommended",)
            if state.status not in ready:
                raise LifecycleError(
                    state.id,
                    f"is {state.status}; a {state.level} platform is certified when "
                    f"{' or '.join(ready)} (HN 4)",
                )
            check_local(ctx, self.actor, state.id, state.region, state.id)

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "certified"

    class PlatformQualificationCancelled(LedgerEvent):
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.status != "certified":
                raise LifecycleError(
                    state.id, f"is {state.status}; there is no qualification to cancel"
                )
            check_local(ctx, self.actor, state.id, state.region, state.id)

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


def check_documents(subject: str, what: str, documents: Any) -> None:
    """The documents a qualification rests on: each a type and the SHA-256 of its file."""
    if not isinstance(documents, list) or not documents:
        raise LifecycleError(subject, f"{what} names the documents it examined")
    for n, document in enumerate(documents):
        ok = (
            isinstance(document, dict)
            and set(document) == {"type", "sha256"}
            and isinstance(document["type"], str)
            and document["type"].strip() != ""
            and isinstance(document["sha256"], str)
            and SHA256_HEX.fullmatch(document["sha256"]) is not None
        )
        if not ok:
            raise LifecycleError(
                subject,
                f"{what}: documents[{n}] is a type and the 64-hex SHA-256 of the file, "
                f"not {document!r}",
            )


def lineage(ctx: RuleContext, platform: Platform) -> list[str]:
    """``platform`` and the platforms above it, up to the top of the network."""
    line: list[str] = []
    node: Platform | None = platform
    while node is not None and node.id not in line:
        line.append(node.id)
        node = ctx.get(node.parent) if node.parent is not None else None
    return line


def check_acts_for(ctx: RuleContext, subject: str, actor: str, platform: Platform) -> None:
    """A platform acts for itself and the platforms beneath it, never for another one: what
    a window onboards and registers counts for that window (HN 4, 13). Which
    organisations act for the network (an operator, an authority) is the pack's."""
    if not isinstance(ctx.get(actor), Platform):
        return
    line = lineage(ctx, platform)
    if actor not in line:
        raise LifecycleError(
            subject,
            f"{actor} acts for itself and the platforms beneath it; {platform.id} is not one "
            f"of them (above it: {', '.join(line[1:]) or 'none'})",
        )


def check_in_line(ctx: RuleContext, subject: str, through: Platform, home: Platform) -> None:
    """A service is delivered through the provider's onboarding platform, a platform above
    it, or one beneath it (a window organising a network provider's service, HN 2); never
    through a platform of another branch, which would claim another window's work."""
    if through.id not in lineage(ctx, home) and home.id not in lineage(ctx, through):
        raise LifecycleError(
            subject,
            f"{through.id} is neither above nor beneath {home.id}, the provider's onboarding "
            "platform: the service is not its to record",
        )


# -- providers ------------------------------------------------------------------------------


class Provider(Registrant):
    """A service provider: applied, verified, reviewed, admitted by an onboarding platform."""

    if TYPE_CHECKING:
        reviewed: bool
        admitted: bool
        platform: str | None
        valid_until: str | None
        suspended: str | None
        credit_code: str

    class ProviderApplied(LedgerCreated):
        name: str
        credit_code: str
        categories: list[str]
        ACTING = False

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            problem = credit_code_problem(self.credit_code)
            if problem is not None:
                raise LifecycleError(stream, problem)
            check_identity(
                ctx,
                stream,
                identity_stream("provider", self.credit_code),
                (identity_stream("enterprise", self.credit_code),),
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.credit_code, aggregate.registrar = self.credit_code, self.actor
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
            check_documents(state.id, "a qualification review", self.documents)
            state.check_handled_by(ctx, self.actor)

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
            check_acts_for(ctx, state.id, self.actor, platform)
            if state.admitted:
                raise LifecycleError(state.id, f"is already admitted by {state.platform}")
            check_agreements(ctx, state.id)

        def apply(self, aggregate: Any) -> None:
            aggregate.admitted, aggregate.platform = True, self.platform

    class ProviderReverified(LedgerEvent):
        """The registration file checked and brought up to date (HN 8(2)): a new validity
        rests on the documents examined, as a review's does."""

        method: str
        documents: list[dict[str, Any]]
        valid_until: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_present()
            if parse_day(self.valid_until, state.id, "valid_until") < ctx.day:
                raise LifecycleError(state.id, f"valid_until {self.valid_until} is already past")
            check_documents(state.id, "a re-verification", self.documents)
            state.check_handled_by(ctx, self.actor)

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

    def reverify(
        self, *, actor: str, method: str, documents: list[dict[str, Any]], valid_until: str
    ) -> None:
        self.trigger_event(
            self.ProviderReverified,
            actor=actor,
            method=method,
            documents=documents,
            valid_until=valid_until,
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
        credit_code: str | None
        index: str | None

    class MemberRegistered(LedgerCreated):
        kind: str  # enterprise | person
        name: Any  # an enterprise's name, or a person's name as a commitment
        credit_code: str | None  # enterprises
        identity: dict[str, Any]  # commitments: ID card number, birth date, phone, address
        platform: str
        age_check: dict[str, Any] | None  # AH 25, persons: the result, never the birth date
        state_owned: bool | None  # AH 25, enterprises
        index: str | None  # persons: the keyed index of the ID-card number (see Identity)

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.kind not in MEMBER_KINDS:
                raise LifecycleError(stream, f"kind {self.kind!r} is not one of {MEMBER_KINDS}")
            platform = ctx.subject(self.platform, Platform, "platform")
            platform.standing(ctx)
            check_acts_for(ctx, stream, self.actor, platform)
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
            if self.kind == "enterprise":
                problem = credit_code_problem(self.credit_code)
                if problem is not None or self.index is not None:
                    raise LifecycleError(
                        stream,
                        f"an enterprise registers with its credit code and no person index: "
                        f"{problem or 'it names an index'}",
                    )
                key = str(self.credit_code)
                also: tuple[str, ...] = (identity_stream("provider", key),)
            else:
                if self.credit_code is not None or not PERSON_INDEX.fullmatch(str(self.index)):
                    raise LifecycleError(
                        stream,
                        "a person registers with the 64-hex keyed index of the ID-card number "
                        f"and no credit code (credit_code: {self.credit_code!r}, "
                        f"index: {self.index!r})",
                    )
                key, also = str(self.index), ()
            check_identity(ctx, stream, identity_stream(self.kind, key), also)

        def apply(self, aggregate: Any) -> None:
            aggregate.kind, aggregate.platform = self.kind, self.platform
            aggregate.credit_code, aggregate.index = self.credit_code, self.index
            aggregate.registrar, aggregate.age_check = self.actor, self.age_check
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
        index: str | None = None,
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
            index=index,
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


AGREEMENT_PARTIES = ("provider", "member")


class Agreement(LedgerAggregate):
    """A platform agreement: the kinds of party that sign it, and its versions, each
    published with the digest of its text and the day it takes effect: the day it is
    published or later, never before (HN 8(3)), version 1 first, then each revision."""

    if TYPE_CHECKING:
        parties: list[str]
        versions: dict[int, str]

    class AgreementPublished(LedgerCreated):
        title: str
        parties: list[str]
        version: int
        sha256: str
        effective_from: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if (
                not self.parties
                or len(set(self.parties)) != len(self.parties)
                or not set(self.parties) <= set(AGREEMENT_PARTIES)
            ):
                raise LifecycleError(
                    stream,
                    f"an agreement is signed by some of {', '.join(AGREEMENT_PARTIES)}, each "
                    f"named once, not {self.parties}",
                )
            if self.version != 1:
                raise LifecycleError(
                    stream,
                    f"an agreement is published as version 1, not version {self.version}; "
                    f"each later version is a revision ({_agreement_articles(ctx)})",
                )
            _binds_from_publication(ctx, stream, self.version, self.effective_from)

        def apply(self, aggregate: Any) -> None:
            aggregate.parties = list(self.parties)
            aggregate.versions = {self.version: self.effective_from}

    class AgreementRevised(LedgerEvent):
        version: int
        sha256: str
        effective_from: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            latest = max(state.versions)
            if self.version != latest + 1:
                raise LifecycleError(
                    state.id, f"version {self.version} does not follow version {latest}"
                )
            effective = parse_day(self.effective_from, state.id, "effective_from")
            if effective < date.fromisoformat(state.versions[latest]):
                raise LifecycleError(
                    state.id,
                    f"version {self.version} cannot take effect on {self.effective_from}, "
                    f"before version {latest} ({state.versions[latest]})",
                )
            _binds_from_publication(ctx, state.id, self.version, self.effective_from)

        def apply(self, aggregate: Any) -> None:
            aggregate.versions[self.version] = self.effective_from

    def version_on(self, day: date) -> int | None:
        """The version in effect on ``day``: the latest that took effect by then."""
        started = [v for v, since in self.versions.items() if date.fromisoformat(since) <= day]
        return max(started) if started else None

    @classmethod
    def publish(
        cls,
        *,
        stream: str,
        actor: str,
        title: str,
        parties: list[str],
        sha256: str,
        effective_from: str,
    ) -> Agreement:
        return cls._create(
            cls.AgreementPublished,
            id=stream,
            actor=actor,
            title=title,
            parties=parties,
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


def _agreement_articles(ctx: RuleContext) -> str:
    """The articles the policy cites for the agreement event being decided."""
    permission = ctx.policy.permissions.get(type(ctx.event).__name__)
    return "; ".join(permission.articles) if permission is not None else ctx.policy.name


def _binds_from_publication(ctx: RuleContext, stream: str, version: int, effective: str) -> None:
    """A version binds from its publication on (HN 8(3)): it takes effect on the day it is
    recorded or later. One backdated would change which version was in effect when parties
    were admitted or signed."""
    if parse_day(effective, stream, "effective_from") < ctx.day:
        raise LifecycleError(
            stream,
            f"version {version} cannot take effect on {effective}, before the day it is "
            f"published ({ctx.day.isoformat()}): an agreement binds from its publication, "
            f"never before ({_agreement_articles(ctx)})",
        )


class Acceptance(LedgerAggregate):
    """Stream ``acceptance/<agreement>/<actor>``: the versions one party accepted."""

    if TYPE_CHECKING:
        accepted: list[int]

    class AgreementAccepted(LedgerCreated):
        agreement: str
        version: int
        ACTING = False  # a provider signs before it is admitted (HN 8(3)); see _accepts

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _accepts(self, ctx)

        def apply(self, aggregate: Any) -> None:
            aggregate.accepted = [self.version]

    class AgreementVersionAccepted(LedgerEvent):
        agreement: str
        version: int
        ACTING = False

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
    party = ctx.get(event.actor)
    if not isinstance(party, Provider | Member):
        return  # not a party at all: the policy's permissions refuse it
    kind = "provider" if isinstance(party, Provider) else "member"
    if kind not in agreement.parties:
        raise LifecycleError(
            stream,
            f"{event.agreement} is signed by {', '.join(agreement.parties)}, not by {event.actor}",
        )
    if isinstance(party, Member):
        party.standing(ctx)  # a member signs once verified (rule 1), as it trades
    else:  # a provider signs as it enters, before admission (HN 8(3))
        party.check_present()
        party.check_not_barred(ctx, kind)


def check_agreements(ctx: RuleContext, provider: str) -> None:
    """HN 8(3): a provider enters the network under the user agreement it signed: each
    agreement for providers, in the version in effect today, accepted before admission."""
    term = ctx.policy.parameters.provider_agreement
    if term is None:
        return
    articles = "; ".join(term.articles)
    in_effect = [
        (agreement, version)
        for stream in ctx.lookup("agreements", "provider")
        if (agreement := ctx.get(stream)) is not None
        and (version := agreement.version_on(ctx.day)) is not None
    ]
    if not in_effect:
        raise LifecycleError(
            provider,
            f"is admitted under the user agreement for providers ({articles}), "
            "and none is in effect",
        )
    for agreement, version in in_effect:
        accepted = getattr(ctx.get(acceptance_stream(agreement.id, provider)), "accepted", [])
        if not any(v >= version for v in accepted):  # a later version signed ahead counts
            raise LifecycleError(
                provider,
                f"is admitted only once it accepted {agreement.id} version {version}, in "
                f"effect since {agreement.versions[version]} ({articles})",
            )
