"""Random sequences of domain commands, valid and invalid, never break a hard rule.

A hypothesis state machine per policy (Hunan, Anhui) drives the real commands against a
real ledger on SQLite and on PostgreSQL: registering providers (sometimes skipping
verification, review, the user agreement or admission, or joining step by step) and
members (sometimes unverified, or without a key of their own), revisions of the user
agreement for providers and its acceptance, publishing and withdrawing items, sanctions
and deregistration, orders, payments, refunds and cancellations, service records,
evaluations, complaints from registration to closing, vouchers (AH), admin
authorisations and actions (AH), data sharing and exports, promotions (HN), platform
disqualification (HN), the other policy's commands, client-signed entries with
malformed bodies, and the passing of time. Most commands are now and then given a
subject unfit for them (a wrong actor, a provider not admitted, a barred member), and
mostly (``fit``) one that could go through, so that the later steps of the business are
reached as well.

Beside the ledger runs a small model of the facts the hard rules depend on (who is
verified, reviewed, admitted, suspended, barred or gone; which versions of the agreement
take effect when, and which each provider accepted; which items are withdrawn; which
orders are paid and evaluated; who received and evaluated which service; voucher
balances; authorisations; where each complaint stands, who handles and who mediates it,
and where its respondent lies). Every command's outcome is predicted by the model, which
checks in the order the ledger does, and must be exactly what the ledger does: accepted
(the log grew by the command's events), or refused with the predicted error
(``RuleViolationError`` of the predicted rule, ``LifecycleError``, ``NotPermittedError``,
or no key to sign with) and nothing written; any other exception fails. After every step
the new entries are decided again from the log alone
(:class:`ledger.compliance.RuleReplay`) and must break no rule; at the end of a run the
whole log passes :func:`ledger.compliance.check_compliance` and
:func:`ledger.verification.verify_ledger`, and the ledger's aggregates agree with the
model.

``LEDGER_MACHINE_SCALE=n`` runs n times the examples (a soak); ``LEDGER_MACHINE_TALLY=1``
writes how often each command had each outcome to stderr (with ``pytest -s``).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, ClassVar, NoReturn

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ledger.app import StreamConflictError
from ledger.calendar import local_date
from ledger.compliance import RuleReplay, check_compliance
from ledger.core.envelope import Envelope, format_time
from ledger.core.errors import EntryRejectedError, LedgerError
from ledger.core.sign import seal
from ledger.domain.catalogue import Promotion, ServiceItem
from ledger.domain.complaints import Complaint
from ledger.domain.errors import LifecycleError, NotPermittedError, RuleViolationError
from ledger.domain.registration import (
    Acceptance,
    Provider,
    acceptance_stream,
    with_check_character,
)
from ledger.domain.services import ServiceRecord
from ledger.domain.supervision import AdminAction, Authorisation, DataExport
from ledger.domain.trading import Order, Voucher
from ledger.events import LedgerEvent, event_clock
from ledger.storage import Database
from ledger.verification import verify_ledger
from tests.conftest import PG_URL, drop_schema
from tests.domain.world import ANHUI, DOC, HUNAN, World, county_window, open_world

START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the world's clock (tests/domain/world.py)
CATEGORIES = ("管理咨询", "法律服务")
ACTIONS = ("审核", "查询", "修改")
SCOPES = ("orders", "members", "services")
PARTNERS = ("partner/bank", "partner/university")
PLAIN_FUNCTION = "专业服务"
VALIDITY_DAYS = (800, 30, -1)  # a qualification review's validity, in days from today
HOW_MUCH = ("what is due", "a little", "the balance", "beyond face value")  # redemptions
FACES = (100, 30_000, 60_000, 150_000, 200_000)  # a voucher's face value, in fen
REFUNDS = ("a part", "the rest", "beyond the rest")
CANCELLERS = ("buyer", "settler", "other")
#: Who cancels a provider's qualification under the Hunan pack (HN 24): the province, the
#: hub, and city and county authorities, which act by locality (HN 19(4), 24) in their
#: regions.
DISQUALIFIERS = ("org/province", "platform/hub", "org/changsha", "org/zhuzhou", "org/liuyang")
#: The world's regions (administrative division codes): its authorities' and platforms'
#: (the Hunan world with its county window, tests/domain/world.py ``county_window``).
REGIONS = {
    "org/province": "430000",
    "org/changsha": "430100",
    "org/zhuzhou": "430200",
    "org/liuyang": "430181",
    "platform/hub": "430000",
    "platform/changsha": "430100",
    "platform/liuyang": "430181",
}
#: The roles of the worlds' organisations and platforms (providers hold "provider",
#: members "member").
ROLES = {
    "org/province": {"provincial_authority"},
    "org/changsha": {"city_authority"},
    "org/zhuzhou": {"city_authority"},
    "org/liuyang": {"city_authority"},
    "platform/hub": {"platform", "hub_platform"},
    "platform/changsha": {"platform", "city_platform"},
    "platform/liuyang": {"platform", "county_platform"},
    "org/hrss": {"provincial_hr_department"},
    "org/operator": {"cloud_operator"},
    "org/county-hr": {"government_department"},
    "org/supervisor": {"supervisor"},
    "platform/cloud": {"platform", "cloud_platform"},
}
#: Each platform's parent in the network: a window's onboarding platform, as a respondent.
PARENTS = {"platform/changsha": "platform/hub", "platform/liuyang": "platform/changsha"}
#: The county window's provider (``county_window``) and its credit code.
COUNTY_PROVIDER = ("provider/p3", with_check_character("91430181MA4L00009"))
#: Which version of the agreement for providers a provider accepts.
VERSIONS = ("in effect", "in effect", "latest", "first")
#: When a revision of the agreement takes effect.
WHEN = ("today", "later", "earlier than today", "before the previous version")
#: The steps of a complaint after its registration (HN 19(3), 19(4); AH 7, 10(5)).
COMPLAINT_STEPS = (
    "acknowledge",
    "mediate at platform",
    "mediate at authority",
    "fail",
    "resolve",
    "close",
)
#: Whom a complaint is about: a provider, a member, or a body (a window platform, the hub;
#: AH: the cloud operator, the cloud platform), its complainant itself, or no one.
AGAINST = ("provider",) * 3 + ("member",) * 2 + ("body",) * 3 + ("itself", "nobody")
ABOUT = ("nothing", "nothing", "order", "order", "service", "service", "nothing known")
#: Whether a command is given a fitting subject: from 25 on, mostly (LedgerMachine.choose).
FIT = st.integers(0, 99)
#: Credit codes and ID-card numbers new subjects register with: the world's own (held by
#: provider/p1, member/e1, member/e2 and member/u1) and one that is free at the start.
CREDIT_CODES = (
    "91430100MA4L00000F",
    "91430181MA4L00000R",
    "91430124MA4L000008",
    "91340100MA2N00000M",
)
ID_CARDS = ("340104199001011234", "340104199202023456")
#: How often each command had each outcome (LEDGER_MACHINE_TALLY=1 writes it to stderr).
TALLY: Counter[str] = Counter()


# -- what the model expects ---------------------------------------------------------------------


def within(inner: str, outer: str) -> bool:
    """Whether division ``inner`` lies within ``outer`` (GB/T 2260: the digits of ``outer``
    before its trailing pairs of zeros begin ``inner``)."""
    while outer.endswith("00"):
        outer = outer[:-2]
    return inner.startswith(outer)


@dataclass(frozen=True)
class Outcome:
    """Accepted, or refused: a hard rule broken, a lifecycle error, not permitted."""

    kind: str  # ok | rule | lifecycle | permission | other
    rule: int | None = None

    def __str__(self) -> str:
        return f"rule {self.rule}" if self.kind == "rule" else self.kind


OK = Outcome("ok")
LIFECYCLE = Outcome("lifecycle")
NOT_PERMITTED = Outcome("permission")
UNSIGNED = Outcome("unsigned")  # decided, but the actor has no key to sign it (FORMAT §4)


def broken(rule: int) -> Outcome:
    return Outcome("rule", rule)


class Refused(Exception):  # noqa: N818 - the model's verdict, not an error
    def __init__(self, outcome: Outcome) -> None:
        super().__init__(str(outcome))
        self.outcome = outcome


def refuse(outcome: Outcome) -> NoReturn:
    raise Refused(outcome)


def outcome_of(error: LedgerError) -> Outcome:
    if isinstance(error, RuleViolationError):
        return broken(error.rule)
    if isinstance(error, LifecycleError):
        return LIFECYCLE
    if isinstance(error, NotPermittedError):
        return NOT_PERMITTED
    if isinstance(error, EntryRejectedError) and "no signing key" in str(error):
        return UNSIGNED
    return Outcome("other")


@dataclass(frozen=True)
class Setting:
    """Who does what under one policy (the world's actors, tests/domain/world.py)."""

    rules: frozenset[int]  # the hard rules the pack lists
    reviewer: str  # verifies, reviews and admits providers
    sanctioner: str  # suspends, reinstates and blacklists
    settler: str  # settles payments
    exporter: str  # hands business data to third parties
    registrars: tuple[tuple[str, str], ...]  # (who registers members, with which platform)
    platforms: tuple[str, ...]  # onboarding platforms
    free_function: str  # a free public-interest function (HN 7; AH 12, 14)
    missing: frozenset[str]  # event types the pack does not have
    agreement: str  # the user agreement for providers (HN 8(3); AH 10(5))
    agreement_owner: str  # who publishes and revises it
    not_owner: str  # who tries to revise it too
    admits_under_agreement: bool  # admission needs the version in effect (provider_agreement)
    bodies: tuple[str, ...]  # complained against besides providers and members
    complaint_actors: tuple[str, ...]  # organisations and platforms that try complaint steps
    complainants: frozenset[str]  # roles permitted to register and close complaints
    handlers: frozenset[str]  # roles permitted to acknowledge complaints
    supervisors: tuple[tuple[str, str], ...]  # complaint_supervisors: respondent's -> handler
    platform_mediators: frozenset[str]  # who mediates at the platform (handlers that mediate)
    authority_mediators: frozenset[str]  # who mediates at the authority
    local: bool  # authorities act by locality (HN 19(4), 24)


SETTINGS = {
    HUNAN: Setting(
        rules=frozenset({1, 2, 4, 7, 9, 10, 11, 12, 13}),
        reviewer="platform/hub",
        sanctioner="platform/hub",
        settler="platform/hub",
        exporter="platform/hub",
        registrars=(
            ("platform/changsha", "platform/changsha"),
            ("platform/hub", "platform/hub"),
            ("platform/liuyang", "platform/liuyang"),
        ),
        platforms=("platform/changsha", "platform/hub", "platform/liuyang"),
        free_function="联络员服务",
        missing=frozenset({"VoucherIssued", "AdminAuthorised", "DataSharingAuthorised"}),
        agreement="agreement/providers",
        agreement_owner="platform/hub",
        not_owner="platform/changsha",
        admits_under_agreement=True,
        bodies=("platform/changsha", "platform/liuyang", "platform/hub"),
        complaint_actors=(
            "platform/hub",
            "platform/changsha",
            "platform/liuyang",
            "org/province",
            "org/changsha",
            "org/zhuzhou",
            "org/liuyang",
        ),
        complainants=frozenset({"member", "provider", "platform"}),
        handlers=frozenset({"platform"}),
        supervisors=(),
        platform_mediators=frozenset({"platform"}),
        authority_mediators=frozenset({"city_authority", "provincial_authority"}),
        local=True,
    ),
    ANHUI: Setting(
        rules=frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13}),
        reviewer="org/operator",
        sanctioner="org/operator",
        settler="org/operator",
        exporter="org/operator",
        registrars=(("org/operator", "platform/cloud"),),
        platforms=("platform/cloud",),
        free_function="政策服务",
        missing=frozenset(
            {
                "PromotionAnnounced",
                "PlatformQualificationCancelled",
                "ProviderQualificationCancelled",
            }
        ),
        agreement="agreement/providers",  # published by the machine
        agreement_owner="org/operator",
        not_owner="org/hrss",
        admits_under_agreement=False,
        bodies=("org/operator", "platform/cloud"),
        complaint_actors=("org/operator", "org/hrss", "org/county-hr", "org/supervisor"),
        complainants=frozenset({"member", "provider"}),
        handlers=frozenset({"cloud_operator", "provincial_hr_department"}),
        supervisors=(
            ("cloud_operator", "provincial_hr_department"),
            ("cloud_platform", "provincial_hr_department"),
        ),
        platform_mediators=frozenset({"cloud_operator"}),
        authority_mediators=frozenset({"provincial_hr_department"}),
        local=False,
    ),
}


# -- the model's facts ---------------------------------------------------------------------------


@dataclass
class ProviderFacts:
    verified: bool = False
    reviewed: bool = False
    valid_until: date | None = None
    home: str | None = None  # the onboarding platform, once admitted
    accepted: int = 0  # the latest version of the agreement for providers it accepted
    suspended: bool = False
    barred: bool = False
    deregistered: bool = False


@dataclass
class MemberFacts:
    registrar: str
    platform: str  # the platform it registered with
    verified: bool = False
    barred: bool = False
    deregistered: bool = False
    keyless: bool = False  # registered without a signing key of its own


@dataclass(frozen=True)
class ItemFacts:
    provider: str
    function: str
    charge: str
    fee_fen: int
    category: str

    @property
    def free(self) -> bool:
        return self.charge == "free"


@dataclass
class OrderFacts:
    buyer: str
    item: str
    provider: str
    channel: str
    price_fen: int
    status: str = "created"  # created, paying, completed, refunded or cancelled
    completed: bool = False  # was completed (and stays so when refunded afterwards)
    vouchers_fen: int = 0
    settled_fen: int = 0
    refunded_fen: int = 0
    noticed: bool = False  # of the risks of an offline deal (AH 20)
    evaluated: bool = False


@dataclass
class ServiceFacts:
    provider: str
    enterprises: tuple[str, ...]
    evaluated_by: set[str] = field(default_factory=set)


@dataclass
class VoucherFacts:
    holder: str
    face_value_fen: int
    expires_on: date
    categories: tuple[str, ...]
    redeemed_fen: int = 0
    orders: set[str] = field(default_factory=set)
    released: set[str] = field(default_factory=set)  # orders cancelled, their amount back
    expired: bool = False


@dataclass
class AuthorisationFacts:
    kind: str  # admin | data sharing
    grantee: str
    scope: tuple[str, ...]
    valid_until: date
    withdrawn: bool = False


@dataclass
class ComplaintFacts:
    complainant: str
    respondent: str
    status: str = "registered"  # acknowledged, mediating, mediation failed, resolved, closed..
    handler: str | None = None
    mediator: str | None = None
    levels: list[str] = field(default_factory=list)  # where mediation took place


@dataclass
class PromotionFacts:
    organiser: str
    ends_on: date
    ended: bool = False
    items: tuple[str, ...] = ()


# -- backends ---------------------------------------------------------------------------------


class Backend:
    """Fresh, empty databases for machine runs: SQLite files or PostgreSQL schemas."""

    def __init__(self, kind: str, directory: Path | None = None) -> None:
        self.kind, self.directory = kind, directory

    def create(self) -> tuple[str, Callable[[], None]]:
        if self.kind == "sqlite":
            assert self.directory is not None
            path = self.directory / f"{uuid.uuid4().hex}.sqlite3"

            def remove() -> None:
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)

            return f"sqlite:///{path}", remove
        schema = "t_" + uuid.uuid4().hex[:12]
        sep = "&" if "?" in PG_URL else "?"
        return f"{PG_URL}{sep}schema={schema}", lambda: drop_schema(schema)


# -- the machine -------------------------------------------------------------------------------


class LedgerMachine(RuleBasedStateMachine):
    """Commands common to both policies; subclasses add the policy's own."""

    POLICY: ClassVar[str]
    backend: ClassVar[Backend]

    providers = Bundle("providers")
    members = Bundle("members")
    items = Bundle("items")
    orders = Bundle("orders")
    services = Bundle("services")
    complaints = Bundle("complaints")

    def __init__(self) -> None:
        super().__init__()
        self.setting = SETTINGS[self.POLICY]
        url, self._drop = self.backend.create()
        self.db = Database(url)
        try:
            with event_clock(lambda: START):
                self.world: World = open_world(self.db, self.POLICY)
                if self.POLICY == HUNAN:  # a county window, its authority and its provider
                    assert county_window(self.world) == COUNTY_PROVIDER[0]
                else:  # the operator's user agreement with providers (AH 10(5))
                    self.world.province.agreement(
                        self.setting.agreement,
                        by=self.setting.agreement_owner,
                        title="服务商入驻协议",
                        parties=["provider"],
                        sha256="cd" * 32,
                    )
        except BaseException:
            self.db.close()
            self._drop()
            raise
        self.world.now[0] = START
        self.counter = 0
        self.steps = 0
        self.replay, self.seen = RuleReplay(), 0  # the compliance replay, kept up to date
        # the world's subjects (tests/domain/world.py)
        self.m_providers: dict[str, ProviderFacts] = {
            "provider/p1": ProviderFacts(
                verified=True,
                reviewed=True,
                valid_until=date(2028, 12, 31),
                home=self.setting.platforms[0],
                accepted=1 if self.POLICY == HUNAN else 0,  # published after it joined (AH)
            )
        }
        if self.POLICY == HUNAN:
            self.m_providers[COUNTY_PROVIDER[0]] = ProviderFacts(
                verified=True,
                reviewed=True,
                valid_until=date(2028, 12, 31),
                home="platform/liuyang",
                accepted=1,
            )
        #: the agreement for providers: version -> the day it takes effect
        self.m_agreement = {1: local_date(START)}
        self.m_members = {
            m: MemberFacts(*self.setting.registrars[0], verified=True) for m in self.world_members()
        }
        #: identity ("provider/<code>", "enterprise/<code>", "person/<id card>") -> its
        #: holders, the current one last; and each subject's identity
        self.m_identity_of = {
            "provider/p1": f"provider/{CREDIT_CODES[0]}",
            "member/e1": f"enterprise/{CREDIT_CODES[1]}",
            "member/e2": f"enterprise/{CREDIT_CODES[2]}",
        }
        if self.POLICY == ANHUI:
            self.m_identity_of["member/u1"] = f"person/{ID_CARDS[0]}"
        else:
            self.m_identity_of[COUNTY_PROVIDER[0]] = f"provider/{COUNTY_PROVIDER[1]}"
        self.m_identities = {key: [holder] for holder, key in self.m_identity_of.items()}
        self.m_items = {
            "item/i1": ItemFacts("provider/p1", PLAIN_FUNCTION, "commercial", 120_000, "管理咨询"),
            "item/free": ItemFacts(
                "provider/p1", self.setting.free_function, "free", 0, "管理咨询"
            ),
        }
        self.m_orders: dict[str, OrderFacts] = {}
        self.m_services: dict[str, ServiceFacts] = {}
        self.m_vouchers: dict[str, VoucherFacts] = {}
        self.redeemed_in: dict[tuple[str, str], int] = {}  # (voucher, order) -> fen
        self.m_auths: dict[str, AuthorisationFacts] = {}
        self.m_promotions: dict[str, PromotionFacts] = {}
        self.m_complaints: dict[str, ComplaintFacts] = {}
        self.cancelled_platforms: set[str] = set()
        self.withdrawn_items: set[str] = set()

    def world_members(self) -> list[str]:
        return ["member/e1", "member/e2"] + (["member/u1"] if self.POLICY == ANHUI else [])

    # -- plumbing ------------------------------------------------------------------------

    @property
    def app(self) -> Any:
        return self.world.app

    @property
    def today(self) -> date:
        return local_date(self.world.now[0])

    def new_stream(self, kind: str) -> str:
        self.counter += 1
        return f"{kind}/s{self.counter}"

    def load(self, stream: str) -> Any:
        return self.app.repository.get(stream)

    def save(self, *aggregates: Any) -> int:
        """Save ``aggregates`` as one batch; the number of events it should write."""
        events = sum(1 if isinstance(a, LedgerEvent) else len(a.pending_events) for a in aggregates)
        self.app.save(*aggregates)
        return events

    def enrol(self, actor: str) -> None:
        before = self.world.entries
        with event_clock(lambda: self.world.now[0]):
            self.world.province.enrol(actor)
        assert self.world.entries == before + 1

    def predict(self, check: Callable[[], None]) -> Outcome:
        try:
            check()
        except Refused as verdict:
            return verdict.outcome
        return OK

    def attempt(self, what: str, check: Callable[[], None], command: Callable[[], int]) -> bool:
        """Run ``command`` at the world's time; it must do what the model's ``check`` says."""
        expected = self.predict(check)
        before = self.world.entries
        refusal: LedgerError | None = None
        try:
            with event_clock(lambda: self.world.now[0]):
                events = command()
        except LedgerError as error:
            refusal = error
        if refusal is not None:
            assert isinstance(refusal, EntryRejectedError | StreamConflictError), (
                f"{what}: refused with {type(refusal).__name__}, not an EntryRejectedError: "
                f"{refusal}"
            )
            assert self.world.entries == before, f"{what}: a refused command wrote: {refusal}"
            got = outcome_of(refusal)
            assert got == expected, (
                f"{what}: the model expected {expected}, the ledger: {refusal!r}"
            )
            if isinstance(refusal, RuleViolationError):
                hard = self.app.policy.rule(refusal.rule)
                assert hard is not None, f"{what}: rule {refusal.rule} is not in {self.POLICY}"
                assert refusal.article == "; ".join(hard.articles) or (
                    not hard.articles and refusal.article == "ledger"
                ), str(refusal)
            TALLY[f"{self.POLICY}: {what}: {got}"] += 1
            return False
        assert expected == OK, f"{what}: the model expected {expected}, the ledger accepted it"
        assert self.world.entries == before + events, f"{what}: wrote {events} events?"
        TALLY[f"{self.POLICY}: {what}: ok"] += 1
        return True

    # -- the model's rules -----------------------------------------------------------------

    def need(self, rule: int, ok: bool) -> None:
        """A hard rule the pack lists: refused when broken; a rule it does not list is inert."""
        if not ok and rule in self.setting.rules:
            refuse(broken(rule))

    def provider_standing(self, provider: str) -> None:
        facts = self.m_providers[provider]
        if facts.barred:
            refuse(broken(4))
        self.present(facts)
        self.need(1, facts.verified)
        self.need(2, facts.reviewed and facts.home is not None)
        self.need(2, not facts.suspended)
        if facts.valid_until is not None:
            self.need(2, self.today <= facts.valid_until)

    def member_standing(self, member: str) -> None:
        facts = self.m_members[member]
        if facts.barred:
            refuse(broken(4))
        self.present(facts)
        self.need(1, facts.verified)

    def signed_by(self, member: str) -> None:
        """Every event of a batch is decided before any is signed: a member without a key
        is refused last."""
        if self.m_members[member].keyless:
            refuse(UNSIGNED)

    def identity_free(self, identity: str, *also: str) -> None:
        """A new registration's identity (rule 4): not held by anyone barred, nor (its own
        kind) by anyone still registered."""
        for key in (identity, *also):
            holders = self.m_identities.get(key, [])
            for holder in holders:  # only a verified holder binds its identity
                facts = self.facts_of(holder)
                if facts.barred and facts.verified:
                    refuse(broken(4))
            if key == identity and holders:
                current = self.facts_of(holders[-1])
                if current.verified and not current.deregistered:
                    refuse(LIFECYCLE)

    def facts_of(self, subject: str) -> ProviderFacts | MemberFacts:
        return self.m_providers.get(subject) or self.m_members[subject]

    def holds_identity(self, subject: str) -> None:
        """A registration is verified only while it holds its identity."""
        if self.m_identities[self.m_identity_of[subject]][-1] != subject:
            refuse(LIFECYCLE)

    def claimed(self, subject: str, identity: str) -> None:
        self.m_identity_of[subject] = identity
        self.m_identities.setdefault(identity, []).append(subject)

    def present(self, facts: ProviderFacts | MemberFacts) -> None:
        if facts.deregistered:
            refuse(LIFECYCLE)

    def open_item(self, item: str) -> None:
        if item in self.withdrawn_items:
            refuse(LIFECYCLE)

    def platform_standing(self, platform: str) -> None:
        if platform in self.cancelled_platforms:
            refuse(broken(4))

    def permitted(self, event_type: str) -> None:
        if event_type in self.setting.missing:
            refuse(NOT_PERMITTED)

    def roles_of(self, actor: str) -> set[str]:
        if actor in self.m_providers:
            return {"provider"}
        if actor in self.m_members:
            return {"member"}
        return ROLES.get(actor, set())

    def allowed(self, actor: str, roles: frozenset[str]) -> None:
        """The policy's permissions, decided after an event's own rules."""
        if not self.roles_of(actor) & roles:
            refuse(NOT_PERMITTED)

    def acting(self, actor: str) -> None:
        """The standing of whoever writes an event that needs it (rules 1, 2, 4)."""
        if actor in self.m_members:
            self.member_standing(actor)
        elif actor in self.m_providers:
            self.provider_standing(actor)
        else:  # an organisation of the world is never barred; a platform may be
            self.platform_standing(actor)

    def signs(self, actor: str) -> None:
        if actor in self.m_members:
            self.signed_by(actor)

    # -- the agreement for providers (HN 8(3)) -------------------------------------------------

    def in_effect(self) -> int:
        """The version of the agreement in effect today."""
        return max(v for v, since in self.m_agreement.items() if since <= self.today)

    def version(self, which: str) -> int:
        return {"first": 1, "latest": max(self.m_agreement)}.get(which) or self.in_effect()

    def under_agreement(self, accepted: int) -> None:
        """Admitted only under the version in effect, accepted (or a later one)."""
        if self.setting.admits_under_agreement and accepted < self.in_effect():
            refuse(LIFECYCLE)

    # -- what could go through (the strategies' bias) --------------------------------------------

    def passes(self, check: Callable[[], None]) -> bool:
        return self.predict(check) == OK

    def sound_providers(self) -> list[str]:
        return [p for p in self.m_providers if self.passes(partial(self.provider_standing, p))]

    def sound_members(self) -> list[str]:
        """Members that could act: in good standing, with a key of their own."""
        return [
            m
            for m, facts in self.m_members.items()
            if not facts.keyless and self.passes(partial(self.member_standing, m))
        ]

    def orderable(self, commercial: bool = False) -> list[str]:
        """Open items of providers in good standing (``commercial``: not free)."""
        sound = set(self.sound_providers())
        return [
            name
            for name, facts in self.m_items.items()
            if facts.provider in sound
            and name not in self.withdrawn_items
            and not (commercial and facts.free)
        ]

    @staticmethod
    def choose(fit: int, given: str, fitting: list[str]) -> str:
        """Mostly (``fit`` from 25 on) one of ``fitting``, when there is one; else ``given``."""
        return fitting[fit % len(fitting)] if fit >= 25 and fitting else given

    # -- the world's subjects enter the bundles ------------------------------------------------

    @initialize(target=providers)
    def seed_providers(self) -> Any:
        return multiple(*self.m_providers)

    @initialize(target=members)
    def seed_members(self) -> Any:
        return multiple(*self.world_members())

    @initialize(target=items)
    def seed_items(self) -> Any:
        return multiple("item/i1", "item/free")

    # -- time ------------------------------------------------------------------------------

    @rule(days=st.integers(0, 9), hours=st.integers(1, 23))
    def advance_clock(self, days: int, hours: int) -> None:
        self.world.now[0] += timedelta(days=days, hours=hours)

    # -- providers -------------------------------------------------------------------------

    @rule(
        target=providers,
        skip=st.sampled_from(["nothing", "verification", "review", "admission", "all"]),
        validity=st.sampled_from(VALIDITY_DAYS),
        platform=st.integers(0, 2),
        code=st.sampled_from(CREDIT_CODES),
        sign=st.booleans(),
        which=st.sampled_from(VERSIONS),
    )
    def apply_provider(
        self, skip: str, validity: int, platform: int, code: str, sign: bool, which: str
    ) -> Any:
        """A new provider applies, claiming its credit code; the reviewer verifies, reviews
        and admits it in the same batch, sometimes skipping a step (or all). It accepts the
        user agreement for providers before admission (a version of it: HN 8(3) admits
        only under the one in effect), or forgets to."""
        verify = skip not in ("verification", "all")
        review = skip not in ("review", "all")
        admit = skip not in ("admission", "all")
        stream = self.new_stream("provider")
        home = self.setting.platforms[platform % len(self.setting.platforms)]
        valid_until = self.today + timedelta(days=validity)
        agreement = self.setting.agreement
        version = self.version(which) if sign else 0
        self.enrol(stream)

        def check() -> None:
            self.identity_free(f"provider/{code}", f"enterprise/{code}")
            if review and valid_until < self.today:
                refuse(LIFECYCLE)
            if admit:
                self.need(2, verify and review)
                self.platform_standing(home)
                self.under_agreement(version)  # HN 8(3)

        def command() -> int:
            provider = Provider.apply_for(
                stream=stream,
                actor=stream,
                name=f"服务商{stream}",
                credit_code=code,
                categories=list(CATEGORIES),
            )
            reviewer = self.setting.reviewer
            if verify:
                provider.verify_real_name(actor=reviewer, method="统一社会信用代码核验")
            if review:
                provider.review(actor=reviewer, documents=DOC, valid_until=valid_until.isoformat())
            claim = self.world.province.claim(provider)
            if not sign:
                if admit:
                    provider.admit(actor=reviewer, platform=home)
                return self.save(provider, claim)
            registered = provider.take_events()
            if admit:
                provider.admit(actor=reviewer, platform=home)
            signed = Acceptance.accept(actor=stream, agreement=agreement, version=version)
            return self.save(*registered, claim, signed, provider)

        if not self.attempt("apply provider", check, command):
            return multiple()
        self.claimed(stream, f"provider/{code}")
        self.m_providers[stream] = ProviderFacts(
            verified=verify,
            reviewed=review,
            valid_until=valid_until if review else None,
            home=home if admit else None,
            accepted=version,
        )
        return stream

    def onboard(self, provider: str, step: str, validity: int, platform: int, which: str) -> bool:
        """One onboarding step for a provider (HN 8(2), 8(3), 19(1); AH 22): accepting a
        version of the user agreement is the provider's own."""
        facts = self.m_providers[provider]
        valid_until = self.today + timedelta(days=validity)
        home = self.setting.platforms[platform % len(self.setting.platforms)]
        reviewer = self.setting.reviewer
        agreement = self.setting.agreement
        version = self.version(which)

        def check() -> None:
            self.present(facts)
            if step == "sign":
                if facts.barred:
                    refuse(broken(4))
                if facts.accepted and version <= facts.accepted:  # each version once, onwards
                    refuse(LIFECYCLE)
            if step == "verify":
                self.holds_identity(provider)
            if step == "review" and valid_until < self.today:
                refuse(LIFECYCLE)
            if step == "admit":
                if facts.barred:  # a barred provider is not admitted (HN 24; AH 28)
                    refuse(broken(4))
                self.need(2, facts.verified and facts.reviewed)
                if facts.valid_until is not None:  # an expired review is done again first
                    self.need(2, self.today <= facts.valid_until)
                self.platform_standing(home)
                if facts.home is not None:
                    refuse(LIFECYCLE)
                self.under_agreement(facts.accepted)

        def command() -> int:
            if step == "sign":
                if not facts.accepted:
                    return self.save(
                        Acceptance.accept(actor=provider, agreement=agreement, version=version)
                    )
                acceptance = self.load(acceptance_stream(agreement, provider))
                acceptance.accept_version(actor=provider, agreement=agreement, version=version)
                return self.save(acceptance)
            aggregate = self.load(provider)
            if step == "verify":
                aggregate.verify_real_name(actor=reviewer, method="统一社会信用代码核验")
            elif step == "review":
                aggregate.review(actor=reviewer, documents=DOC, valid_until=valid_until.isoformat())
            else:
                aggregate.admit(actor=reviewer, platform=home)
            return self.save(aggregate)

        if not self.attempt(f"{step} provider", check, command):
            return False
        if step == "sign":
            facts.accepted = version
        elif step == "verify":
            facts.verified = True
        elif step == "review":
            facts.reviewed, facts.valid_until = True, valid_until
        else:
            facts.home = home
        return True

    def ready_for(self, step: str) -> list[str]:
        """The providers that ``step`` could be taken for now."""
        latest = max(self.m_agreement)
        ready = []
        for name, f in self.m_providers.items():
            if f.deregistered or (f.barred and step != "verify"):
                continue
            if step == "verify":
                ok = not f.verified and self.m_identities[self.m_identity_of[name]][-1] == name
            elif step == "review":
                ok = not f.reviewed or (f.valid_until is not None and f.valid_until < self.today)
            elif step == "sign":
                ok = f.accepted < latest
            else:
                ok = f.home is None and f.verified and f.reviewed
                ok = ok and self.passes(partial(self.under_agreement, f.accepted))
            if ok:
                ready.append(name)
        return ready

    @rule(
        provider=providers,
        step=st.sampled_from(["verify", "review", "sign", "admit"]),
        validity=st.sampled_from(VALIDITY_DAYS),
        platform=st.integers(0, 2),
        which=st.sampled_from(VERSIONS),
        fit=FIT,
    )
    def onboard_provider(
        self, provider: str, step: str, validity: int, platform: int, which: str, fit: int
    ) -> None:
        """One onboarding step, in any order, mostly (``fit``) for a provider it is due for."""
        self.onboard(
            self.choose(fit, provider, self.ready_for(step)), step, validity, platform, which
        )

    @rule(
        target=providers,
        fault=st.integers(0, 19),
        platform=st.integers(0, 2),
        which=st.sampled_from(VERSIONS),
        kind=st.sampled_from(["commercial", "commercial", "free policy", "free with fee"]),
        category=st.sampled_from(CATEGORIES),
    )
    def provider_joins(
        self, fault: int, platform: int, which: str, kind: str, category: str
    ) -> Any:
        """A new provider joins step by step, each step its own command: it applies with a
        credit code of its own, is verified and reviewed, accepts the agreement for
        providers, is admitted and publishes an item. Now and then (``fault``) it claims a
        code already held, a step is left out or taken too early, or its review is
        already expired."""
        code = CREDIT_CODES[fault - 9] if fault in (9, 10) else self.fresh_code()
        steps = ["verify", "review", "sign", "admit"]
        if 1 <= fault <= 4:
            del steps[fault - 1]
        if fault == 5:
            steps.insert(0, "admit")
        validity = -1 if fault == 6 else 800
        provider = self.apply_provider("all", validity, platform, code, False, which)
        if not isinstance(provider, str):
            return provider
        for step in steps:
            self.onboard(provider, step, validity, platform, which)
        if self.m_providers[provider].home is not None:
            self.publish(provider, kind, category)
        return provider

    def fresh_code(self) -> str:
        """A credit code no one holds yet (GB 32100-2015)."""
        self.counter += 1
        return with_check_character(f"91430100MA4R{self.counter:05d}")

    @rule(when=st.sampled_from(WHEN), days=st.integers(1, 12), owner=st.integers(0, 5))
    def revise_agreement(self, when: str, days: int, owner: int) -> None:
        """Its owner (or, refused, someone else) revises the agreement for providers, the
        new version taking effect today, some days after today and after the version it
        follows, or (refused) before today or before that version: a version binds from
        its publication on (HN 8(3))."""
        actor = self.setting.agreement_owner if owner else self.setting.not_owner
        latest = max(self.m_agreement)
        since = self.m_agreement[latest]
        effective = {
            "today": self.today,
            "later": max(self.today, since) + timedelta(days=days),
            "earlier than today": self.today - timedelta(days=days),
            "before the previous version": since - timedelta(days=1),
        }[when]

        def check() -> None:
            self.acting(actor)
            if effective < since or effective < self.today:
                refuse(LIFECYCLE)
            if actor != self.setting.agreement_owner:
                refuse(NOT_PERMITTED)

        def command() -> int:
            aggregate = self.load(self.setting.agreement)
            aggregate.revise(
                actor=actor, sha256=f"{latest + 1:064x}", effective_from=effective.isoformat()
            )
            return self.save(aggregate)

        if self.attempt(f"revise agreement ({when})", check, command):
            self.m_agreement[latest + 1] = effective

    @rule(
        provider=providers,
        action=st.sampled_from(
            ["reinstate", "suspend", "reinstate", "blacklist", "cancel", "deregister"]
        ),
        disqualifier=st.sampled_from(DISQUALIFIERS),
    )
    def sanction_provider(self, provider: str, action: str, disqualifier: str) -> None:
        """Suspended and reinstated (HN 24; AH 10(5)), blacklisted (AH 28), its
        qualification cancelled (HN 24: by the province, the hub, or the authority of the
        locality where it was onboarded); or it leaves (deregisters itself)."""
        facts = self.m_providers[provider]
        sanctioner = self.setting.sanctioner
        by = disqualifier if self.POLICY == HUNAN else sanctioner

        def check() -> None:
            if action in ("suspend", "reinstate", "deregister"):
                self.present(facts)
            if action == "suspend" and facts.suspended:
                refuse(LIFECYCLE)
            if action == "reinstate":
                if facts.barred:
                    refuse(broken(4))
                if not facts.suspended:
                    refuse(LIFECYCLE)
            if action in ("blacklist", "cancel") and facts.barred:
                refuse(LIFECYCLE)
            # an authority cancels within its region; a provider no platform onboarded lies
            # in the province as a whole
            where = REGIONS.get(facts.home or "", "430000")
            authority = self.POLICY == HUNAN and by.startswith("org/")
            if action == "cancel" and authority and not within(where, REGIONS[by]):
                refuse(LIFECYCLE)
            if action == "cancel":
                self.permitted("ProviderQualificationCancelled")

        def command() -> int:
            aggregate = self.load(provider)
            if action == "suspend":
                aggregate.suspend(actor=sanctioner, reason="资质核查中")
            elif action == "reinstate":
                aggregate.reinstate(actor=sanctioner, reason="核查通过")
            elif action == "blacklist":
                aggregate.blacklist(actor=sanctioner, reason="虚假宣传")
            elif action == "deregister":
                aggregate.deregister(actor=provider, reason="停止经营")
            else:
                aggregate.cancel_qualification(actor=by, reason="提供虚假材料")
            return self.save(aggregate)

        if not self.attempt(f"{action} provider", check, command):
            return
        if action in ("suspend", "reinstate"):
            facts.suspended = action == "suspend"
        elif action == "deregister":
            facts.deregistered = True
        else:
            facts.barred = True

    # -- members ---------------------------------------------------------------------------

    @rule(
        target=members,
        verify=st.booleans(),
        registrar=st.integers(0, 2),
        person=st.booleans(),
        age=st.integers(10, 70),
        state_owned=st.integers(0, 4),
        key=st.integers(0, 3),
        code=st.sampled_from(CREDIT_CODES),
        id_card=st.sampled_from(ID_CARDS),
    )
    def register_member(
        self,
        verify: bool,
        registrar: int,
        person: bool,
        age: int,
        state_owned: int,
        key: int,
        code: str,
        id_card: str,
    ) -> Any:
        """An enterprise (sometimes state-owned) or a person (AH: of any age) registers,
        verified or not, and (mostly) with a signing key of its own, claiming its credit
        code or its ID-card number."""
        by, platform = self.setting.registrars[registrar % len(self.setting.registrars)]
        person = person and self.POLICY == ANHUI
        soe = state_owned == 0 and not person
        stream = self.new_stream("member")
        if key:
            self.enrol(stream)

        def check() -> None:
            if person:  # AH 25's age check is made before anything is decided
                self.need(3, 16 <= age <= 59)
            self.platform_standing(by)
            self.platform_standing(platform)
            if not person:
                self.need(3, not soe)
            if person:
                self.identity_free(f"person/{id_card}")
            else:
                self.identity_free(f"enterprise/{code}", f"provider/{code}")

        def command() -> int:
            if person:
                self.world.province.person(
                    stream,
                    by=by,
                    platform=platform,
                    identity={"name": "赵磊", "id_card": id_card},
                    birth_date=date(self.today.year - age, 1, 1),
                    verify=verify,
                    key=False,
                )
            else:
                self.world.province.enterprise(
                    stream,
                    by=by,
                    platform=platform,
                    name=f"企业{stream}",
                    credit_code=code,
                    contact={"name": "周洁", "phone": "13900000000"},
                    state_owned=soe,
                    verify=verify,
                    key=False,
                )
            return 2 + verify  # the registration, its identity claim and the verification

        if not self.attempt("register member", check, command):
            return multiple()
        self.m_members[stream] = MemberFacts(by, platform, verified=verify, keyless=not key)
        self.claimed(stream, f"person/{id_card}" if person else f"enterprise/{code}")
        return stream

    @rule(member=members, action=st.integers(0, 7))
    def manage_member(self, member: str, action: int) -> None:
        """Real-name verified by its registrar (HN 18; AH 26), blacklisted (HN 24; AH 28),
        or it leaves (deregisters itself)."""
        facts = self.m_members[member]
        what = {0: "blacklist", 1: "deregister"}.get(action, "verify")

        def check() -> None:
            if what == "blacklist" and facts.barred:
                refuse(LIFECYCLE)
            if what == "verify":
                self.platform_standing(facts.registrar)
            if what in ("verify", "deregister"):
                self.present(facts)
            if what == "verify":
                self.holds_identity(member)
            if what == "deregister":
                self.signed_by(member)

        def command() -> int:
            aggregate = self.load(member)
            if what == "blacklist":
                aggregate.blacklist(actor=self.setting.sanctioner, reason="恶意差评")
            elif what == "deregister":
                aggregate.deregister(actor=member, reason="注销账户")
            else:
                aggregate.verify_real_name(actor=facts.registrar, method="身份证核验")
            return self.save(aggregate)

        if self.attempt(f"{what} member", check, command):
            facts.barred = facts.barred or what == "blacklist"
            facts.verified = facts.verified or what == "verify"
            facts.deregistered = facts.deregistered or what == "deregister"

    # -- items -----------------------------------------------------------------------------

    @rule(
        target=items,
        provider=providers,
        kind=st.sampled_from(
            ["commercial", "free policy", "free plain", "fee on free function", "free with fee"]
        ),
        category=st.sampled_from(CATEGORIES),
        fit=FIT,
    )
    def publish_item(self, provider: str, kind: str, category: str, fit: int) -> Any:
        """An item published by a provider, mostly (``fit``) one in good standing."""
        stream = self.publish(self.choose(fit, provider, self.sound_providers()), kind, category)
        return stream if stream is not None else multiple()

    def publish(self, provider: str, kind: str, category: str) -> str | None:
        """An item of ``kind`` published by ``provider``: its stream, or None when refused."""
        function = self.setting.free_function if "function" in kind or "policy" in kind else ""
        function = function or PLAIN_FUNCTION
        charge = "commercial" if kind in ("commercial", "fee on free function") else "free"
        fee = {"commercial": 50_000, "fee on free function": 10_000, "free with fee": 100}.get(
            kind, 0
        )
        facts = ItemFacts(provider, function, charge, fee, category)
        stream = self.new_stream("item")

        def check() -> None:
            self.provider_standing(provider)
            self.check_charge(facts.function, charge, fee)

        def command() -> int:
            return self.save(
                ServiceItem.publish(
                    stream=stream,
                    actor=provider,
                    provider=provider,
                    title=f"服务{stream}",
                    category=category,
                    function=function,
                    charge=charge,
                    fee_fen=fee,
                    content="服务内容",
                    standard="服务标准",
                    process="受理-办理-反馈",
                    time_limit_days=5,
                )
            )

        if not self.attempt(f"publish {kind} item", check, command):
            return None
        self.m_items[stream] = facts
        return stream

    @rule(item=items, reason=st.sampled_from(["服务下架", "价格调整"]))
    def withdraw_item(self, item: str, reason: str) -> None:
        """Its provider withdraws an item; nothing is ordered or recorded against it then."""
        provider = self.m_items[item].provider

        def check() -> None:
            self.provider_standing(provider)
            self.open_item(item)
            for promotion in self.m_promotions.values():  # HN 8(12): its terms stand
                held = item in promotion.items and self.today <= promotion.ends_on
                self.need(10, promotion.ended or not held)

        def command() -> int:
            aggregate = self.load(item)
            aggregate.withdraw(actor=provider, reason=reason)
            return self.save(aggregate)

        if self.attempt("withdraw item", check, command):
            self.withdrawn_items.add(item)

    def check_charge(self, function: str, charge: str, fee: int) -> None:
        if function == self.setting.free_function:
            self.need(7, charge == "free" and fee == 0)
        if charge == "free" and fee != 0:
            refuse(LIFECYCLE)

    # -- orders ------------------------------------------------------------------------------

    def order(self, buyer: str, item: str, online: bool, price: int, payee: str | None) -> Any:
        """An order placed by ``buyer``; its stream, or multiple() when refused."""
        facts = self.m_items[item]
        channel = "online" if online else "offline"
        stream = self.new_stream("order")

        def check() -> None:
            self.member_standing(buyer)
            self.open_item(item)
            self.provider_standing(facts.provider)
            self.need(7, not facts.free or price == 0)
            if payee is not None:  # AH 6: never a government department; HN 20: nor an
                self.need(7, self.POLICY != ANHUI)  # authority that settles nothing
                refuse(LIFECYCLE)
            self.signed_by(buyer)

        def command() -> int:
            return self.save(
                Order.create(
                    stream=stream,
                    buyer=buyer,
                    item=item,
                    provider=facts.provider,
                    channel=channel,
                    price_fen=price,
                    payee=payee,
                )
            )

        if not self.attempt("create order", check, command):
            return multiple()
        self.m_orders[stream] = OrderFacts(buyer, item, facts.provider, channel, price)
        return stream

    def pay(self, order: str) -> None:
        """Paid (initiated by the buyer unless it was already, settled by the payment
        service) and completed; an order paid in full by vouchers, or free, is completed at
        once. A completed, refunded or cancelled order takes no payment, nor completion."""
        facts = self.m_orders[order]
        due = facts.price_fen - facts.vouchers_fen
        settle = due > 0 and facts.status in ("created", "paying", "cancelled")
        initiate = settle and facts.status != "paying"
        notice = initiate and facts.channel == "offline" and self.POLICY == ANHUI  # AH 20
        cancelled = facts.status == "cancelled"

        def check() -> None:
            if notice and cancelled:
                refuse(LIFECYCLE)  # RiskNoticeDelivered
            if initiate:
                self.member_standing(facts.buyer)  # PaymentInitiated
                if cancelled:
                    refuse(LIFECYCLE)
            self.provider_standing(facts.provider)  # PaymentSettled (frozen), OrderCompleted
            if facts.status not in ("created", "paying"):
                refuse(LIFECYCLE)
            if initiate:
                self.signed_by(facts.buyer)

        def command() -> int:
            aggregate = self.noticed(order, notice)
            if initiate:
                aggregate.initiate_payment(method="wechat_pay")
            if settle:
                aggregate.settle(actor=self.setting.settler, payment_ref=f"PAY-{order}")
            aggregate.complete()
            return self.save(aggregate)

        if self.attempt("pay and complete order", check, command):
            facts.status, facts.completed = "completed", True
            facts.settled_fen = due if settle else 0
            facts.noticed = facts.noticed or notice

    def noticed(self, order: str, notice: bool) -> Any:
        """``order`` loaded, with the operator's risk notice delivered when ``notice`` (AH 20)."""
        aggregate = self.load(order)
        if notice:
            aggregate.deliver_risk_notice(
                actor=self.setting.settler, notice_sha256=f"{len(order):064x}"
            )
        return aggregate

    def initiate(self, order: str) -> None:
        """The buyer initiates the payment only (HN 20; AH 19): the order is paying until
        settled, or frozen there when its seller is barred meanwhile (rule 4)."""
        facts = self.m_orders[order]
        due = facts.price_fen - facts.vouchers_fen
        notice = facts.channel == "offline" and self.POLICY == ANHUI  # AH 20

        def check() -> None:
            if notice and (facts.noticed or facts.status == "cancelled"):
                refuse(LIFECYCLE)  # RiskNoticeDelivered
            self.member_standing(facts.buyer)
            if facts.status != "created":
                refuse(LIFECYCLE)
            if self.m_providers[facts.provider].barred:
                refuse(broken(4))  # the payment is frozen
            if due <= 0:
                refuse(LIFECYCLE)
            self.signed_by(facts.buyer)

        def command() -> int:
            aggregate = self.noticed(order, notice)
            aggregate.initiate_payment(method="alipay")
            return self.save(aggregate)

        if self.attempt("initiate payment", check, command):
            facts.status, facts.noticed = "paying", facts.noticed or notice

    def refund(self, order: str, how: str) -> None:
        """The settling operator refunds part or the rest of what was settled (HN 20);
        refunded in full, the order ends "refunded"."""
        facts = self.m_orders[order]
        left = facts.settled_fen - facts.refunded_fen
        fen = {
            "a part": min(1_000, left - 1) if left > 1 else 1,
            "the rest": left,
            "beyond the rest": left + 1,
        }[how]

        def check() -> None:
            if facts.settled_fen == 0 or not 0 < fen <= left:
                refuse(LIFECYCLE)

        def command() -> int:
            aggregate = self.load(order)
            aggregate.refund(
                actor=self.setting.settler, payment_ref=f"RF-{order}", amount_fen=fen, reason="退款"
            )
            return self.save(aggregate)

        if self.attempt(f"refund order ({how})", check, command):
            facts.refunded_fen += fen
            if facts.refunded_fen == facts.settled_fen:
                facts.status = "refunded"

    def cancel(self, order: str, actor: str) -> None:
        """The buyer, or the settling operator, cancels an order not yet settled (a frozen
        one among them); each voucher applied to it is given back first, in the batch."""
        facts = self.m_orders[order]
        vouchers = sorted(
            name
            for name, v in self.m_vouchers.items()
            if order in v.orders and order not in v.released
        )

        def check() -> None:
            if actor in self.m_members:
                self.member_standing(actor)
            if facts.status not in ("created", "paying"):
                refuse(LIFECYCLE)
            if actor not in (facts.buyer, self.setting.settler):
                refuse(LIFECYCLE)
            if actor in self.m_members:
                self.signed_by(actor)

        def command() -> int:
            held = [self.load(name) for name in vouchers]
            aggregate = self.load(order)
            aggregate.cancel(actor=actor, reason="订单取消", vouchers=held)
            return self.save(*held, aggregate)

        what = "cancel order, giving vouchers back" if vouchers else "cancel order"
        if self.attempt(what, check, command):
            facts.status, facts.vouchers_fen = "cancelled", 0
            for name in vouchers:
                self.m_vouchers[name].released.add(order)
                self.m_vouchers[name].redeemed_fen -= self.redeemed_in[name, order]

    def evaluate(self, order: str, actor: str) -> None:
        """HN 19(2): only the buyer evaluates a completed order, once."""
        facts = self.m_orders[order]

        def check() -> None:
            self.member_standing(actor)
            self.need(9, actor == facts.buyer)
            self.need(9, not facts.evaluated)
            if not facts.completed:
                refuse(LIFECYCLE)
            self.signed_by(actor)

        def command() -> int:
            aggregate = self.load(order)
            aggregate.evaluate(actor=actor, score=4, comment="满意")
            return self.save(aggregate)

        if self.attempt("evaluate order", check, command):
            facts.evaluated = True

    @rule(
        target=orders,
        buyer=members,
        item=items,
        online=st.booleans(),
        charge_free=st.booleans(),
        government_payee=st.integers(0, 4),
        fit=FIT,
    )
    def create_order(
        self,
        buyer: str,
        item: str,
        online: bool,
        charge_free: bool,
        government_payee: int,
        fit: int,
    ) -> Any:
        """An order, sometimes charging for a free item or paying a government department;
        mostly (``fit``) by a member that could buy, of an item on offer."""
        buyer, item = self.choose(fit, buyer, self.sound_members()), self.fitting_item(fit, item)
        facts = self.m_items[item]
        price = 100 if charge_free and facts.free else facts.fee_fen
        payee = None
        if government_payee == 0:
            payee = "org/county-hr" if self.POLICY == ANHUI else "org/province"
        return self.order(buyer, item, online, price, payee)

    def fitting_item(self, fit: int, item: str) -> str:
        """Mostly (``fit``) an item on offer, and a commercial one when there is."""
        return self.choose(fit, item, self.orderable(commercial=fit % 3 > 0) or self.orderable())

    def orders_in(self, *statuses: str) -> list[str]:
        return [name for name, o in self.m_orders.items() if o.status in statuses]

    @rule(order=orders, fit=FIT)
    def complete_order(self, order: str, fit: int) -> None:
        self.pay(self.choose(fit, order, self.orders_in("created", "paying")))

    @rule(order=orders, fit=FIT)
    def initiate_payment(self, order: str, fit: int) -> None:
        self.initiate(self.choose(fit, order, self.orders_in("created")))

    @rule(order=orders, how=st.sampled_from(REFUNDS), fit=FIT)
    def refund_order(self, order: str, how: str, fit: int) -> None:
        """Mostly (``fit``) an order with something settled not refunded yet."""
        refundable = [n for n, o in self.m_orders.items() if o.settled_fen > o.refunded_fen]
        self.refund(self.choose(fit, order, refundable), how)

    @rule(order=orders, by=st.sampled_from(CANCELLERS), other=members, fit=FIT)
    def cancel_order(self, order: str, by: str, other: str, fit: int = 0) -> None:
        """Cancelled by its buyer, the settling operator, or someone else (refused)."""
        order = self.choose(fit, order, self.orders_in("created", "paying"))
        buyer = self.m_orders[order].buyer
        self.cancel(order, {"buyer": buyer, "settler": self.setting.settler}.get(by, other))

    @rule(
        target=orders,
        buyer=members,
        item=items,
        online=st.booleans(),
        initiated=st.booleans(),
        by=st.sampled_from(CANCELLERS),
        other=members,
        fit=FIT,
    )
    def order_then_cancel(
        self, buyer: str, item: str, online: bool, initiated: bool, by: str, other: str, fit: int
    ) -> Any:
        """Ordered, its payment perhaps initiated, then cancelled (by its buyer, the settling
        operator, or someone else); each step decided on its own."""
        buyer, item = self.choose(fit, buyer, self.sound_members()), self.fitting_item(fit, item)
        order = self.order(buyer, item, online, self.m_items[item].fee_fen, None)
        if not isinstance(order, str):
            return order
        if initiated:
            self.initiate(order)
        self.cancel_order(order, by, other)
        return order

    @rule(order=orders, other=members, as_buyer=st.booleans(), again=st.booleans(), fit=FIT)
    def evaluate_order(self, order: str, other: str, as_buyer: bool, again: bool, fit: int) -> None:
        done = [n for n, o in self.m_orders.items() if o.completed and not o.evaluated]
        order = self.choose(fit, order, done)
        for _ in range(1 + again):
            self.evaluate(order, self.m_orders[order].buyer if as_buyer else other)

    @rule(
        target=orders,
        buyer=members,
        item=items,
        online=st.booleans(),
        other=members,
        by=st.sampled_from(["buyer", "buyer twice", "other"]),
        refund=st.sampled_from((None, None, *REFUNDS)),
        fit=FIT,
    )
    def purchase(
        self,
        buyer: str,
        item: str,
        online: bool,
        other: str,
        by: str,
        refund: str | None,
        fit: int,
    ) -> Any:
        """The whole way at once: ordered, paid, completed, evaluated (maybe twice, or by
        someone else), perhaps refunded; each step decided on its own."""
        buyer, item = self.choose(fit, buyer, self.sound_members()), self.fitting_item(fit, item)
        order = self.order(buyer, item, online, self.m_items[item].fee_fen, None)
        if not isinstance(order, str):
            return order
        self.pay(order)
        for _ in range(2 if by == "buyer twice" else 1):
            self.evaluate(order, other if by == "other" else buyer)
        if refund is not None:
            self.refund(order, refund)
        return order

    # -- service records ---------------------------------------------------------------------

    @rule(
        target=services,
        item=items,
        enterprises=st.lists(members, min_size=1, max_size=3, unique=True),
        stranger=st.one_of(st.none(), providers),
        fee_on_free=st.booleans(),
        fit=FIT,
    )
    def record_service(
        self, item: str, enterprises: list[str], stranger: str | None, fee_on_free: bool, fit: int
    ) -> Any:
        """A provider records a service of its item (or, a stranger, of another's); mostly
        (``fit``) its own, of an item on offer, to one member that could be served at least."""
        if fit >= 25:
            item, stranger = self.fitting_item(fit, item), None
            served = [m for m, f in self.m_members.items() if f.verified and not f.barred]
            if served:
                also = [e for e in enterprises if e in served]
                enterprises = list(dict.fromkeys([served[fit % len(served)], *also]))[:3]
        facts = self.m_items[item]
        provider = stranger or facts.provider
        home = self.m_providers[provider].home or self.setting.platforms[0]
        charge, fee = ("commercial", 500) if fee_on_free else (facts.charge, facts.fee_fen)
        stream = self.new_stream("service")
        self.counter += 1
        evidence = [
            {
                "type": "合同",
                "sha256": f"{self.counter:064x}",
                "basis_date": self.today.isoformat(),
                "media_type": "application/pdf",
                "size": 2048,
            }
        ]

        def check() -> None:
            self.provider_standing(provider)
            self.platform_standing(home)
            if facts.provider != provider:
                refuse(LIFECYCLE)
            self.open_item(item)
            self.check_charge(facts.function, charge, fee)
            self.need(7, not facts.free or fee == 0)
            for enterprise in enterprises:  # served only as verified members in good standing
                if self.m_members[enterprise].barred:
                    refuse(broken(4))
                self.need(1, self.m_members[enterprise].verified)

        def command() -> int:
            return self.save(
                ServiceRecord.record(
                    policy=self.app.policy,
                    stream=stream,
                    actor=provider,
                    provider=provider,
                    platform=home,
                    item=item,
                    enterprises=enterprises,
                    channel="offline",
                    charge=charge,
                    fee_fen=fee,
                    evidence=evidence,
                )
            )

        if not self.attempt("record service", check, command):
            return multiple()
        self.m_services[stream] = ServiceFacts(provider, tuple(enterprises))
        return stream

    @rule(
        service=services,
        other=members,
        mode=st.sampled_from(["recipient", "stranger", "on behalf"]),
        pick=st.integers(0, 2),
        again=st.booleans(),
    )
    def evaluate_service(self, service: str, other: str, mode: str, pick: int, again: bool) -> None:
        """HN 19(2): an evaluation only from a recipient, once each."""
        facts = self.m_services[service]
        recipient = facts.enterprises[pick % len(facts.enterprises)]
        actor = recipient if mode == "recipient" else other
        enterprise = other if mode == "stranger" else recipient
        for _ in range(1 + again):

            def check() -> None:
                self.member_standing(actor)
                self.need(9, actor == enterprise)
                self.need(9, enterprise in facts.enterprises)
                self.need(9, enterprise not in facts.evaluated_by)
                self.signed_by(actor)

            def command() -> int:
                aggregate = self.load(service)
                aggregate.trigger_event(
                    ServiceRecord.ServiceEvaluated,
                    actor=actor,
                    enterprise=enterprise,
                    score=5,
                    comment="服务专业",
                )
                return self.save(aggregate)

            if self.attempt(f"evaluate service ({mode})", check, command):
                facts.evaluated_by.add(enterprise)

    # -- complaints (HN 19(3), 19(4), 24; AH 7, 10(5)) ---------------------------------------

    def onboarding_of(self, respondent: str) -> str | None:
        """The platform through which ``respondent`` joined the network: a provider's
        admitting platform, a member's, a window's parent; None for the top platform, an
        organisation, or a provider not admitted."""
        if respondent in self.m_providers:
            return self.m_providers[respondent].home
        if respondent in self.m_members:
            return self.m_members[respondent].platform
        return PARENTS.get(respondent)

    def lies_in(self, respondent: str) -> str:
        """Where the respondent lies (HN 24): a platform where it is; a provider or member
        where the platform that onboarded it is; else in the province as a whole."""
        if respondent in REGIONS:
            return REGIONS[respondent]
        return REGIONS.get(self.onboarding_of(respondent) or "", "430000")

    def check_handler(self, c: ComplaintFacts, actor: str) -> None:
        """AH 7: a complaint against a supervised body goes to its supervisor, which handles
        no other complaint."""
        supervisors = dict(self.setting.supervisors)
        if not supervisors:
            return
        held = self.roles_of(actor)
        against = self.roles_of(c.respondent) & supervisors.keys()
        if against:
            if not held & {supervisors[role] for role in against}:
                refuse(NOT_PERMITTED)
        elif held & set(supervisors.values()) and not held & (
            self.setting.handlers - set(supervisors.values())
        ):
            refuse(NOT_PERMITTED)

    def complaint_actor(self, c: ComplaintFacts, step: str, pick: int) -> str:
        """Mostly (``pick`` below 75) one who could take ``step`` as the complaint stands;
        else anyone who might try: the world's organisations and platforms, or a party."""
        actors = self.setting.complaint_actors
        others = [*actors, c.complainant, c.respondent]
        parties = (c.complainant, c.respondent)
        if pick >= 75:
            return others[pick % len(others)]
        fitting: list[str] = []
        if step == "acknowledge":
            fitting = [
                a
                for a in actors
                if a not in parties
                and self.roles_of(a) & self.setting.handlers
                and self.passes(partial(self.check_handler, c, a))
            ]
        elif step == "mediate at platform":
            onboarding = self.onboarding_of(c.respondent)
            fitting = [
                a
                for a in actors
                if self.roles_of(a) & self.setting.platform_mediators
                and (not a.startswith("platform/") or a == onboarding)
            ]
        elif step == "mediate at authority":
            where = self.lies_in(c.respondent)
            fitting = [
                a
                for a in actors
                if self.roles_of(a) & self.setting.authority_mediators
                and (not self.setting.local or within(where, REGIONS[a]))
            ]
        elif step == "close":
            fitting = [c.complainant]
        else:
            fitting = [a for a in (c.mediator, c.handler) if a is not None][:1]
        fitting = fitting or others
        return fitting[pick % len(fitting)]

    def complaint_step(self, complaint: str, step: str, actor: str) -> bool:
        """One step of a complaint after its registration, by ``actor``."""
        c = self.m_complaints[complaint]
        level = step.removeprefix("mediate at ") if step.startswith("mediate") else None
        mediators = self.setting.platform_mediators | self.setting.authority_mediators

        def neutral() -> None:  # no party handles, mediates or resolves its own complaint
            if actor in (c.respondent, c.complainant):
                refuse(LIFECYCLE)

        def check() -> None:
            if step != "close":  # the complainant closes it whatever its standing
                self.acting(actor)
            if step == "acknowledge":  # or taken over from a handler that can no longer act
                taken_over = c.status == "acknowledged" and not self.can_act(
                    c.handler, self.setting.handlers
                )
                if c.status != "registered" and not taken_over:
                    refuse(LIFECYCLE)
                neutral()
                self.check_handler(c, actor)
                self.allowed(actor, self.setting.handlers)
            elif level == "platform":  # at the platform that onboarded the respondent
                neutral()
                self.allowed(actor, self.setting.platform_mediators)
                if c.status != "acknowledged":
                    refuse(LIFECYCLE)
                onboarding = self.onboarding_of(c.respondent)
                if onboarding is None or onboarding == c.complainant:
                    refuse(LIFECYCLE)
                if actor.startswith("platform/") and actor != onboarding:
                    refuse(LIFECYCLE)
            elif level == "authority":  # after the platform's failed, where it lies
                neutral()
                self.allowed(actor, self.setting.authority_mediators)
                failed = c.status == "mediation failed" and c.levels[-1:] == ["platform"]
                if not failed and not (
                    c.status == "mediating" and not self.can_act(c.mediator, mediators)
                ):
                    refuse(LIFECYCLE)
                if self.setting.local and not within(self.lies_in(c.respondent), REGIONS[actor]):
                    refuse(LIFECYCLE)
            elif step == "fail":
                if c.status != "mediating" or actor != c.mediator:
                    refuse(LIFECYCLE)
                self.allowed(actor, mediators)
            elif step == "resolve":  # or, after the authority's failed, concluded by it
                failed = c.status == "mediation failed"
                if failed and c.levels[-1:] != ["authority"]:
                    refuse(LIFECYCLE)
                if not failed and c.status not in ("acknowledged", "mediating"):
                    refuse(LIFECYCLE)
                if actor != (c.mediator if failed else c.mediator or c.handler):
                    refuse(LIFECYCLE)
                self.allowed(actor, mediators)
            else:
                if c.status not in ("resolved", "mediation failed") or actor != c.complainant:
                    refuse(LIFECYCLE)
                self.allowed(actor, self.setting.complainants)
            self.signs(actor)

        def command() -> int:
            aggregate = self.load(complaint)
            if step == "acknowledge":
                aggregate.acknowledge(actor=actor, reference=f"TS-{complaint}")
            elif level is not None:
                aggregate.mediate(actor=actor, level=level)
            elif step == "fail":
                aggregate.trigger_event(
                    Complaint.MediationFailed, actor=actor, reason="双方未达成一致"
                )
            elif step == "resolve":
                aggregate.resolve(actor=actor, outcome="退还部分服务费")
            else:
                aggregate.trigger_event(
                    Complaint.ComplaintClosed,
                    actor=actor,
                    feedback="通过其他渠道维权" if c.status != "resolved" else "认可处理结果",
                    satisfied=c.status == "resolved",
                )
            return self.save(aggregate)

        takes_over = (step, c.status) in (
            ("acknowledge", "acknowledged"),
            ("mediate at authority", "mediating"),
        )
        label = f"{step} complaint" + (" (taking it over)" if takes_over else "")
        if not self.attempt(label, check, command):
            return False
        if step == "acknowledge":
            c.status, c.handler = "acknowledged", actor
        elif level is not None:
            c.status, c.mediator = "mediating", actor
            c.levels.append(level)
        elif step == "fail":
            c.status = "mediation failed"
        elif step == "resolve":
            c.status = "resolved"
        else:
            c.status = "closed" if c.status == "resolved" else "closed unresolved"
        return True

    def can_act(self, actor: str | None, roles: frozenset[str]) -> bool:
        """Whether a complaint's handler or mediator can still take its steps: in good
        standing and holding one of ``roles``; one that cannot leaves them to another."""
        return (
            actor is not None
            and self.passes(partial(self.acting, actor))
            and bool(self.roles_of(actor) & roles)
        )

    def next_step(self, c: ComplaintFacts, move: int) -> str | None:
        """The step that could come next (``move`` choosing where there are two)."""
        mediators = self.setting.platform_mediators | self.setting.authority_mediators
        if c.status == "registered":
            return "acknowledge"
        if c.status == "acknowledged":
            if not self.can_act(c.handler, self.setting.handlers):
                return "acknowledge"
            return "resolve" if move % 6 == 0 else "mediate at platform"
        if c.status == "mediating":
            if not self.can_act(c.mediator, mediators):
                return "mediate at authority"
            return "resolve" if move % 3 == 0 else "fail"
        if c.status == "mediation failed":
            if move % 6 == 0:
                return "close"
            return "mediate at authority" if c.levels == ["platform"] else "resolve"
        return "close" if c.status == "resolved" else None

    @rule(
        target=complaints,
        complainant=members,
        provider=providers,
        member=members,
        against=st.sampled_from(AGAINST),
        about=st.sampled_from(ABOUT),
        pick=st.integers(0, 99),
        moves=st.lists(st.integers(0, 99), min_size=3, max_size=12),
    )
    def complain(
        self,
        complainant: str,
        provider: str,
        member: str,
        against: str,
        about: str,
        pick: int,
        moves: list[int],
    ) -> Any:
        """A member complains (registered whatever its standing, HN 19(3); now and then,
        refused, on another's behalf, against itself or against no one) about a provider,
        a member or a body (a window platform, the hub; AH: the cloud operator, the cloud
        platform), perhaps about an order or a service. Then each of ``moves`` takes the
        step that could come next, by whoever it picks (complaint_actor): acknowledged,
        mediated at the platform and failing there, mediated at the authority, resolved or
        concluded, closed with the complainant's feedback."""
        if member == complainant:  # another member: complaining against itself is "itself"
            member = next((m for m in self.m_members if m != complainant), member)
        respondent = {
            "provider": provider,
            "member": member,
            "body": self.setting.bodies[pick % len(self.setting.bodies)],
            "itself": complainant,
        }.get(against, "provider/nobody")
        orders, services = sorted(self.m_orders), sorted(self.m_services)
        subject: str | None = {
            "order": orders[pick % len(orders)] if orders else None,
            "service": services[pick % len(services)] if services else None,
            "nothing known": "service/nothing",
        }.get(about)
        actor = member if pick % 10 == 0 else complainant
        stream = self.new_stream("complaint")

        def check() -> None:
            if actor != complainant or respondent == complainant:
                refuse(LIFECYCLE)
            if respondent == "provider/nobody" or subject == "service/nothing":
                refuse(LIFECYCLE)
            self.allowed(actor, self.setting.complainants)
            self.signs(actor)

        def command() -> int:
            return self.save(
                Complaint._create(
                    Complaint.ComplaintRegistered,
                    id=stream,
                    actor=actor,
                    complainant=complainant,
                    respondent=respondent,
                    about=subject,
                    summary="服务未按约定时限交付",
                )
            )

        if not self.attempt(f"register complaint (against {against})", check, command):
            return multiple()
        c = self.m_complaints[stream] = ComplaintFacts(complainant, respondent)
        for move in moves:
            step = self.next_step(c, move)
            if step is None:
                break
            self.complaint_step(stream, step, self.complaint_actor(c, step, move))
        return stream

    @rule(
        complaint=complaints,
        step=st.sampled_from((None, None, *COMPLAINT_STEPS)),
        pick=st.integers(0, 99),
    )
    def take_complaint_step(self, complaint: str, step: str | None, pick: int) -> None:
        """Any step of a complaint, in any order, by whoever ``pick`` picks; or (None) the
        step that could come next, mostly of a complaint not closed yet."""
        if step is None:
            going = [n for n, c in self.m_complaints.items() if not c.status.startswith("closed")]
            complaint = self.choose(pick, complaint, going)
            step = self.next_step(self.m_complaints[complaint], pick)
            if step is None:
                return
        c = self.m_complaints[complaint]
        self.complaint_step(complaint, step, self.complaint_actor(c, step, pick))

    # -- the other policy's commands ---------------------------------------------------------

    @rule(holder=members, item=items)
    def other_policys_command(self, holder: str, item: str) -> None:
        """HN has no vouchers, AH no promotions: issuing or announcing one is not permitted
        (once the rules that come first are met)."""
        if self.POLICY == HUNAN:

            def check() -> None:
                if self.m_members[holder].barred:
                    refuse(broken(4))
                self.present(self.m_members[holder])
                self.permitted("VoucherIssued")

            def command() -> int:
                return self.save(
                    Voucher.issue(
                        stream=self.new_stream("voucher"),
                        actor="org/province",
                        holder=holder,
                        face_value_fen=10_000,
                        expires_on=(self.today + timedelta(days=30)).isoformat(),
                        categories=list(CATEGORIES),
                    )
                )

            self.attempt("issue voucher (HN)", check, command)
            return
        organiser = self.m_items[item].provider

        def check_promotion() -> None:
            self.provider_standing(organiser)
            self.open_item(item)
            self.permitted("PromotionAnnounced")

        def announce() -> int:
            return self.save(
                Promotion.announce(
                    stream=self.new_stream("promotion"),
                    actor=organiser,
                    items=[item],
                    terms="满减",
                    starts_on=self.today.isoformat(),
                    ends_on=(self.today + timedelta(days=30)).isoformat(),
                )
            )

        self.attempt("announce promotion (AH)", check_promotion, announce)

    # -- malformed entries -----------------------------------------------------------------------

    @rule(
        kind=st.sampled_from(["provider", "promotion", "voucher", "export"]),
        item=items,
        holder=members,
    )
    def malformed_entry(self, kind: str, item: str, holder: str) -> None:
        """A client signs and submits an entry whose body members have the wrong types: it
        is refused like any other (nothing written), never with another exception."""
        organiser = self.m_items[item].provider
        stream = self.new_stream(kind)
        if kind == "provider":
            self.enrol(stream)

        def check() -> None:
            refuse(LIFECYCLE)  # an entry's shape is checked before anything it says

        entries: dict[str, tuple[str, str, dict[str, Any]]] = {
            "provider": (  # no categories: the application cannot even be applied
                stream,
                "ProviderApplied",
                {"name": "无类别服务商", "credit_code": "9134", "categories": None},
            ),
            "promotion": (  # no start: cannot be compared with the end
                organiser,
                "PromotionAnnounced",
                {"items": [item], "terms": "满减", "starts_on": None, "ends_on": "2026-12-31"},
            ),
            "voucher": (  # a number for its categories
                "org/hrss" if self.POLICY == ANHUI else "org/province",
                "VoucherIssued",
                {
                    "holder": holder,
                    "face_value_fen": 10_000,
                    "expires_on": (self.today + timedelta(days=30)).isoformat(),
                    "categories": 5,
                },
            ),
            "export": (  # no scope to name
                self.setting.exporter,
                "DataExported",
                {
                    "authorisation": None,
                    "recipient": PARTNERS[0],
                    "scope": None,
                    "records": 1,
                    "sha256": "ef" * 32,
                },
            ),
        }
        actor, type_, body = entries[kind]

        def command() -> int:
            signer = self.world.keys.signer_for(actor, self.app.keyring)
            assert signer is not None, actor
            envelope = Envelope(
                ledger=self.app.origin,
                stream=stream,
                version=1,
                prev=None,
                type=type_,
                time=format_time(self.world.now[0]),
                actor=actor,
                key=signer.key_id,
                body=body,
            )
            self.app.submit(seal(envelope, signer).raw)
            return 1

        self.attempt(f"malformed {kind}", check, command)

    # -- data exports (AH 34) ----------------------------------------------------------------

    def export(self, authorisation: str | None, recipient: str, scope: list[str]) -> bool:
        def check() -> None:
            if 8 not in self.setting.rules:
                return
            if authorisation is None or authorisation not in self.m_auths:
                refuse(broken(8))
            else:
                facts = self.m_auths[authorisation]
                self.need(8, facts.kind == "data sharing")
                self.need(8, facts.grantee == recipient)
                self.need(8, not facts.withdrawn)
                self.need(8, self.today <= facts.valid_until)
                self.need(8, set(scope) <= set(facts.scope))

        def command() -> int:
            return self.save(
                DataExport.export(
                    stream=self.new_stream("export"),
                    actor=self.setting.exporter,
                    authorisation=authorisation,
                    recipient=recipient,
                    scope=scope,
                    records=42,
                    sha256="ef" * 32,
                )
            )

        return self.attempt("export data", check, command)

    @rule(
        recipient=st.sampled_from(PARTNERS),
        scope=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True),
        bogus=st.booleans(),
    )
    def export_without_authorisation(self, recipient: str, scope: list[str], bogus: bool) -> None:
        self.export("member/e1" if bogus else None, recipient, scope)

    # -- checks ----------------------------------------------------------------------------

    @invariant()
    def the_log_complies(self) -> None:
        """Every new entry, decided again from the log alone, breaks no rule."""
        self.steps += 1
        for row in self.db.iter_log(self.app.origin, start=self.seen):
            self.replay.add(self.replay.entries, row.state)
            self.seen = row.id
        assert not self.replay.findings, "\n".join(str(f) for f in self.replay.findings)
        assert self.replay.entries == self.world.entries

    def teardown(self) -> None:
        TALLY[f"{self.POLICY}: runs"] += 1
        TALLY[f"{self.POLICY}: steps"] += self.steps
        try:
            report = check_compliance(self.app.entries())
            assert report.ok, "\n".join(str(f) for f in report.findings)
            self.app.publish()
            verified = verify_ledger(self.db, self.app.origin, workers=1)
            assert verified.ok, verified.to_json()
            assert verified.entries == report.entries == self.world.entries
            self.agrees_with_the_ledger()
        finally:
            self.db.close()
            self._drop()

    def agrees_with_the_ledger(self) -> None:
        """The ledger's aggregates hold the facts the model kept."""
        for stream, p in self.m_providers.items():
            state = self.load(stream)
            got = (state.verified, state.reviewed, state.admitted, state.platform)
            assert got == (p.verified, p.reviewed, p.home is not None, p.home), stream
            flags = (state.suspended, state.barred, state.deregistered)
            assert tuple(f is not None for f in flags) == (
                p.suspended,
                p.barred,
                p.deregistered,
            ), stream
        for stream, m in self.m_members.items():
            state = self.load(stream)
            flags = (state.verified, state.barred is not None, state.deregistered is not None)
            assert flags == (m.verified, m.barred, m.deregistered), stream
        for stream in self.m_items:
            assert self.load(stream).withdrawn == (stream in self.withdrawn_items), stream
        for stream, o in self.m_orders.items():
            state = self.load(stream)
            got = (state.status, state.completed, state.vouchers_fen, state.evaluated)
            assert got == (o.status, o.completed, o.vouchers_fen, o.evaluated), stream
            assert (state.settled_fen, state.refunded_fen) == (o.settled_fen, o.refunded_fen)
            applied = {v for v, facts in self.m_vouchers.items() if stream in facts.orders}
            assert state.vouchers == applied, stream
        for stream, s in self.m_services.items():
            assert self.load(stream).evaluated_by == s.evaluated_by, stream
        for stream, c in self.m_complaints.items():
            state = self.load(stream)
            got = (state.status, state.handler, state.mediator, state.levels)
            assert got == (c.status, c.handler, c.mediator, c.levels), stream
        versions = {v: since.isoformat() for v, since in self.m_agreement.items()}
        assert self.load(self.setting.agreement).versions == versions
        for stream, p in self.m_providers.items():
            held = self.app.subject(acceptance_stream(self.setting.agreement, stream))
            assert (max(held.accepted) if held is not None else 0) == p.accepted, stream
        for stream, v in self.m_vouchers.items():
            state = self.load(stream)
            assert (state.redeemed_fen, set(state.redemptions), state.expired) == (
                v.redeemed_fen,
                v.orders,
                v.expired,
            ), stream
            assert set(state.released) == v.released, stream


class HunanMachine(LedgerMachine):
    """HN: promotions (rule 10), platform disqualification (rule 4), no vouchers."""

    POLICY = HUNAN
    promotions = Bundle("promotions")

    @precondition(lambda self: not self.cancelled_platforms)
    @rule(now=st.integers(0, 4), reason=st.sampled_from(["考核不合格", "弄虚作假"]))
    def disqualify_changsha(self, now: int, reason: str) -> None:
        """HN 24: the city window's qualification is cancelled (in some of the runs that
        get here); it can no longer act, onboard or register anyone."""
        if now:
            return
        platform = "platform/changsha"
        for _ in range(2):

            def check() -> None:
                if platform in self.cancelled_platforms:
                    refuse(LIFECYCLE)

            def command() -> int:
                aggregate = self.load(platform)
                aggregate.cancel_qualification(actor="org/province", reason=reason)
                return self.save(aggregate)

            if self.attempt("disqualify platform", check, command):
                self.cancelled_platforms.add(platform)

    @rule(target=promotions, item=LedgerMachine.items)
    def announce_promotion(self, item: str) -> Any:
        organiser = self.m_items[item].provider
        stream = self.new_stream("promotion")

        def command() -> int:
            return self.save(
                Promotion.announce(
                    stream=stream,
                    actor=organiser,
                    items=[item],
                    terms="满减",
                    starts_on=self.today.isoformat(),
                    ends_on=(self.today + timedelta(days=30)).isoformat(),
                )
            )

        def check() -> None:
            self.provider_standing(organiser)
            self.open_item(item)

        if not self.attempt("announce promotion", check, command):
            return multiple()
        self.m_promotions[stream] = PromotionFacts(
            organiser, self.today + timedelta(days=30), items=(item,)
        )
        return stream

    @rule(
        promotion=promotions,
        action=st.sampled_from(["change", "change", "end"]),
        force_majeure=st.booleans(),
        stranger=st.one_of(st.none(), LedgerMachine.providers),
    )
    def change_promotion(
        self, promotion: str, action: str, force_majeure: bool, stranger: str | None
    ) -> None:
        """HN 8(12): a promotion's plan changes only by force majeure; its organiser ends it."""
        facts = self.m_promotions[promotion]
        actor = stranger or facts.organiser
        basis = {"description": "台风停工", "evidence_sha256": "aa" * 32} if force_majeure else None

        def check() -> None:
            self.provider_standing(actor)
            if facts.ended or actor != facts.organiser:
                refuse(LIFECYCLE)
            if action == "change" or self.today < facts.ends_on:  # ending early changes it
                self.need(10, force_majeure)

        def command() -> int:
            aggregate = self.load(promotion)
            if action == "change":
                aggregate.change(actor=actor, changes={"terms": "满减加倍"}, force_majeure=basis)
            else:
                aggregate.end(actor=actor, reason="活动结束", force_majeure=basis)
            return self.save(aggregate)

        if self.attempt(f"{action} promotion", check, command) and action == "end":
            facts.ended = True


class AnhuiMachine(LedgerMachine):
    """AH: vouchers (rule 6), admin authorisations (rule 5), data sharing (rule 8)."""

    POLICY = ANHUI
    vouchers = Bundle("vouchers")
    authorisations = Bundle("authorisations")

    @rule(
        target=vouchers,
        holder=LedgerMachine.members,
        right_issuer=st.integers(0, 4),
        face=st.sampled_from(FACES),
        days=st.integers(0, 40),
        categories=st.lists(st.sampled_from(CATEGORIES), min_size=1, max_size=2, unique=True),
    )
    def issue_voucher(
        self, holder: str, right_issuer: int, face: int, days: int, categories: list[str]
    ) -> Any:
        """AH 17: issued by 省人社厅 only, to a member not barred, with a future expiry."""
        issuer = "org/operator" if right_issuer == 0 else "org/hrss"
        expires_on = self.today + timedelta(days=days)
        stream = self.new_stream("voucher")

        def check() -> None:
            self.need(6, issuer == "org/hrss")
            if self.m_members[holder].barred:
                refuse(broken(4))
            self.present(self.m_members[holder])  # a member who left is issued nothing
            if expires_on <= self.today:
                refuse(LIFECYCLE)

        def command() -> int:
            return self.save(
                Voucher.issue(
                    stream=stream,
                    actor=issuer,
                    holder=holder,
                    face_value_fen=face,
                    expires_on=expires_on.isoformat(),
                    categories=categories,
                )
            )

        if not self.attempt("issue voucher", check, command):
            return multiple()
        self.m_vouchers[stream] = VoucherFacts(holder, face, expires_on, tuple(categories))
        return stream

    def redeem(
        self, voucher: str, order: str, how_much: str, actor: str, *, alone: bool = False
    ) -> None:
        """AH 17, 19: online, eligible, unexpired, once per order, within the face value;
        applied to the order by the next entry (``alone``: written without it)."""
        v, o = self.m_vouchers[voucher], self.m_orders[order]
        item = self.m_items[o.item]
        due, balance = o.price_fen - o.vouchers_fen, v.face_value_fen - v.redeemed_fen
        amount = {
            "what is due": due,
            "a little": min(1_000, due),
            "the balance": min(due, balance),
            "beyond face value": balance + 1,
        }[how_much]
        amount = max(amount, 1)

        def check() -> None:
            self.member_standing(actor)
            self.need(6, actor == v.holder)
            self.need(7, not item.free)
            self.need(6, o.item not in self.withdrawn_items)
            self.need(6, o.channel == "online")
            self.need(6, o.buyer == v.holder and o.status == "created")
            self.need(6, item.category in v.categories)
            self.need(6, not v.expired and self.today <= v.expires_on)
            self.need(6, order not in v.orders)
            self.need(6, v.redeemed_fen + amount <= v.face_value_fen)
            self.need(6, o.vouchers_fen + amount <= o.price_fen)
            self.need(6, not alone)  # else the order is paid in full as well
            self.signed_by(actor)

        def command() -> int:
            held, spent_on = self.load(voucher), self.load(order)
            held.trigger_event(Voucher.VoucherRedeemed, actor=actor, order=order, amount_fen=amount)
            if alone:
                return self.save(held)
            spent_on.trigger_event(
                Order.VoucherApplied, actor=actor, voucher=voucher, amount_fen=amount
            )
            return self.save(held, spent_on)

        if self.attempt(f"redeem voucher ({how_much})", check, command):
            v.redeemed_fen += amount
            v.orders.add(order)
            o.vouchers_fen += amount
            self.redeemed_in[voucher, order] = amount

    @rule(
        voucher=vouchers,
        order=LedgerMachine.orders,
        how_much=st.sampled_from(HOW_MUCH),
        other=LedgerMachine.members,
        as_holder=st.integers(0, 3),
        fit=st.integers(0, 2),
    )
    def redeem_voucher(
        self, voucher: str, order: str, how_much: str, other: str, as_holder: int, fit: int
    ) -> None:
        """A voucher redeemed in an order, by its holder or not; mostly (``fit``) in an
        unpaid online order of the holder, when there is one."""
        holder = self.m_vouchers[voucher].holder
        fitting = [
            name
            for name, facts in self.m_orders.items()
            if facts.buyer == holder and facts.channel == "online" and facts.status == "created"
        ]
        if fit and fitting:
            order = fitting[fit % len(fitting)]
        self.redeem(voucher, order, how_much, other if as_holder == 0 else holder)

    @rule(voucher=vouchers, order=LedgerMachine.orders, how_much=st.sampled_from(HOW_MUCH))
    def redeem_without_applying(self, voucher: str, order: str, how_much: str) -> None:
        """The holder redeems a voucher in an order but writes no VoucherApplied: the order
        could then be paid in full and the voucher's value paid out on top (AH 17, 19)."""
        self.redeem(voucher, order, how_much, self.m_vouchers[voucher].holder, alone=True)

    @rule(
        target=vouchers,
        holder=LedgerMachine.members,
        item=LedgerMachine.items,
        face=st.sampled_from(FACES),
        how_much=st.sampled_from(HOW_MUCH),
        twice=st.integers(0, 3),
        pay=st.integers(0, 3),
        fit=FIT,
    )
    def voucher_purchase(
        self, holder: str, item: str, face: int, how_much: str, twice: int, pay: int, fit: int
    ) -> Any:
        """A voucher issued to ``holder`` (mostly, ``fit``, a member that could buy), who
        orders online (mostly a commercial item on offer of the voucher's category), redeems
        the voucher (sometimes twice in the order), then pays what is left and evaluates,
        or (``pay`` 1, 2) the order, its payment perhaps initiated, is cancelled by the
        holder or the settling operator and the voucher given its amount back; each step
        decided on its own."""
        holder = self.choose(fit, holder, self.sound_members())
        item = self.choose(fit, item, self.orderable(commercial=True))
        voucher = self.issue_voucher(holder, 1, face, 30, [self.m_items[item].category])
        if not isinstance(voucher, str):
            return voucher
        eligible = [
            name
            for name in self.orderable(commercial=True)
            if self.m_items[name].category in self.m_vouchers[voucher].categories
        ]
        item = self.choose(fit, item, eligible)
        order = self.order(holder, item, True, self.m_items[item].fee_fen, None)
        if isinstance(order, str):
            for _ in range(1 + (twice == 0)):
                self.redeem(voucher, order, how_much, holder)
            if pay in (1, 2):  # its payment perhaps initiated, the order is cancelled
                if pay == 2:
                    self.initiate(order)
                self.cancel(order, holder if twice < 3 else self.setting.settler)
            elif pay:
                self.pay(order)
                self.evaluate(order, holder)
        return voucher

    @rule(
        voucher=vouchers,
        initiated=st.booleans(),
        by=st.sampled_from(CANCELLERS),
        other=LedgerMachine.members,
        fit=FIT,
    )
    def cancel_voucher_order(
        self, voucher: str, initiated: bool, by: str, other: str, fit: int
    ) -> None:
        """An order the voucher was redeemed in, its rest perhaps being paid, is cancelled:
        the voucher gets its amount back in the same batch (AH 17, 19). Mostly (``fit``)
        one redeemed in an order still open; when there is none, its holder first orders
        an eligible item and redeems the voucher in it."""
        open_orders = set(self.orders_in("created", "paying"))
        held_open = [
            name
            for name, facts in self.m_vouchers.items()
            if any(o in open_orders for o in facts.orders - facts.released)
        ]
        voucher = self.choose(fit, voucher, held_open)
        v = self.m_vouchers[voucher]
        if fit >= 25 and not held_open:
            eligible = [
                name
                for name in self.orderable(commercial=True)
                if self.m_items[name].category in v.categories
            ]
            if eligible:
                item = eligible[fit % len(eligible)]
                order = self.order(v.holder, item, True, self.m_items[item].fee_fen, None)
                if isinstance(order, str):
                    self.redeem(voucher, order, "a little", v.holder)
                    open_orders.add(order)
        held = sorted(order for order in v.orders if order not in v.released)
        if fit >= 25:
            held = [order for order in held if order in open_orders] or held
        if not held:
            return
        if initiated:
            self.initiate(held[0])
        self.cancel_order(held[0], by, other)

    @rule(voucher=vouchers, pick=st.integers(0, 3))
    def apply_voucher_again(self, voucher: str, pick: int) -> None:
        """The holder applies a voucher already redeemed and applied in an order to it once
        more, without a new redemption: the order's price would drop twice for one
        redemption (AH 17, 19: never twice, never beyond the face value)."""
        v = self.m_vouchers[voucher]
        if not v.orders:
            return
        order = sorted(v.orders)[pick % len(v.orders)]
        amount = self.redeemed_in[voucher, order]

        def check() -> None:
            self.member_standing(v.holder)
            if self.m_orders[order].status != "created":
                refuse(LIFECYCLE)
            refuse(broken(6))

        def command() -> int:
            aggregate = self.load(order)
            aggregate.trigger_event(
                Order.VoucherApplied, actor=v.holder, voucher=voucher, amount_fen=amount
            )
            return self.save(aggregate)

        self.attempt("apply voucher again", check, command)

    @rule(voucher=vouchers)
    def expire_voucher(self, voucher: str) -> None:
        v = self.m_vouchers[voucher]

        def check() -> None:
            if v.expired or self.today <= v.expires_on:
                refuse(LIFECYCLE)

        def command() -> int:
            aggregate = self.load(voucher)
            aggregate.expire(actor="org/hrss")
            return self.save(aggregate)

        if self.attempt("expire voucher", check, command):
            v.expired = True

    @rule(
        target=authorisations,
        right_grantor=st.integers(0, 4),
        right_admin=st.integers(0, 4),
        scope=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=2, unique=True),
        days=st.integers(-1, 30),
    )
    def authorise_admin(
        self, right_grantor: int, right_admin: int, scope: list[str], days: int
    ) -> Any:
        """AH 27: the department head authorises a government-service admin."""
        grantor = "org/head" if right_grantor else "org/operator"
        admin = "org/admin" if right_admin else "org/operator"
        valid_until = self.today + timedelta(days=days)
        stream = self.new_stream("authorisation")

        def check() -> None:
            self.need(5, grantor == "org/head")
            self.need(5, admin == "org/admin")
            if valid_until < self.today:
                refuse(LIFECYCLE)

        def command() -> int:
            return self.save(
                Authorisation.authorise_admin(
                    stream=stream,
                    actor=grantor,
                    admin=admin,
                    scope=scope,
                    valid_until=valid_until.isoformat(),
                )
            )

        if not self.attempt("authorise admin", check, command):
            return multiple()
        self.m_auths[stream] = AuthorisationFacts("admin", admin, tuple(scope), valid_until)
        return stream

    @rule(
        target=authorisations,
        right_grantor=st.integers(0, 4),
        grantee=st.sampled_from(PARTNERS),
        scope=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True),
        days=st.integers(-1, 30),
    )
    def authorise_sharing(
        self, right_grantor: int, grantee: str, scope: list[str], days: int
    ) -> Any:
        """AH 34: only 省人社厅 authorises the use of business data."""
        grantor = "org/hrss" if right_grantor else "org/operator"
        valid_until = self.today + timedelta(days=days)
        stream = self.new_stream("authorisation")

        def check() -> None:
            self.need(8, grantor == "org/hrss")
            if valid_until < self.today:
                refuse(LIFECYCLE)

        def command() -> int:
            return self.save(
                Authorisation.authorise_sharing(
                    stream=stream,
                    actor=grantor,
                    grantee=grantee,
                    purpose="就业研究",
                    scope=scope,
                    valid_until=valid_until.isoformat(),
                )
            )

        if not self.attempt("authorise sharing", check, command):
            return multiple()
        self.m_auths[stream] = AuthorisationFacts(
            "data sharing", grantee, tuple(scope), valid_until
        )
        return stream

    @rule(authorisation=authorisations)
    def withdraw_authorisation(self, authorisation: str) -> None:
        facts = self.m_auths[authorisation]

        def check() -> None:
            if facts.withdrawn:
                refuse(LIFECYCLE)

        def command() -> int:
            aggregate = self.load(authorisation)
            aggregate.withdraw(reason="岗位调整")
            return self.save(aggregate)

        if self.attempt("withdraw authorisation", check, command):
            facts.withdrawn = True

    @rule(authorisation=authorisations, action=st.sampled_from(ACTIONS), bogus=st.integers(0, 5))
    def admin_action(self, authorisation: str, action: str, bogus: int) -> None:
        """AH 27: an admin action names a prior, valid authorisation covering it."""
        named = "member/e1" if bogus == 0 else authorisation

        def check() -> None:
            facts = self.m_auths.get(named)
            if facts is None:
                refuse(broken(5))
                return
            self.need(5, facts.kind == "admin")
            self.need(5, facts.grantee == "org/admin")
            self.need(5, not facts.withdrawn)
            self.need(5, self.today <= facts.valid_until)
            self.need(5, action in facts.scope)

        def command() -> int:
            return self.save(
                AdminAction.record(
                    stream=self.new_stream("admin-action"),
                    actor="org/admin",
                    authorisation=named,
                    action=action,
                    subject="member/e1",
                    detail="审核用户资料",
                )
            )

        self.attempt("admin action", check, command)

    @rule(
        authorisation=authorisations,
        recipient=st.sampled_from(PARTNERS),
        scope=st.lists(st.sampled_from(SCOPES), min_size=1, max_size=2, unique=True),
    )
    def export_with_authorisation(
        self, authorisation: str, recipient: str, scope: list[str]
    ) -> None:
        self.export(authorisation, recipient, scope)


# -- the tests -----------------------------------------------------------------------------------

MACHINES = {HUNAN: HunanMachine, ANHUI: AnhuiMachine}
SCALE = int(os.environ.get("LEDGER_MACHINE_SCALE", "1"))  # more examples for a soak run
EXAMPLES = {"sqlite": 50 * SCALE, "postgres": 15 * SCALE}
STEPS = 90
SHOW_TALLY = os.environ.get("LEDGER_MACHINE_TALLY") == "1"


def show_tally() -> None:
    if SHOW_TALLY:
        sys.stderr.write("".join(f"{n:6} {what}\n" for what, n in sorted(TALLY.items())))
    TALLY.clear()


def run_machine(policy: str, backend: Backend, examples: int) -> None:
    machine = type(
        f"{MACHINES[policy].__name__}On{backend.kind.title()}",
        (MACHINES[policy],),
        {"backend": backend},
    )
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )


@pytest.mark.parametrize("policy", [HUNAN, ANHUI])
def test_no_command_sequence_breaks_a_hard_rule_on_sqlite(policy: str, tmp_path: Path) -> None:
    run_machine(policy, Backend("sqlite", tmp_path), EXAMPLES["sqlite"])
    show_tally()


@pytest.mark.postgres
@pytest.mark.parametrize("policy", [HUNAN, ANHUI])
def test_no_command_sequence_breaks_a_hard_rule_on_postgres(
    policy: str, postgres_server: str
) -> None:
    run_machine(policy, Backend("postgres"), EXAMPLES["postgres"])
    show_tally()


# -- what the machine found, kept as plain examples ------------------------------------------------


@contextmanager
def machine_on_sqlite(policy: str, directory: Path) -> Iterator[Any]:
    """One machine run, step by step: its checks at the end, or just its cleanup on failure."""
    machine = type("Machine", (MACHINES[policy],), {"backend": Backend("sqlite", directory)})()
    try:
        yield machine
        machine.the_log_complies()
    except BaseException:
        machine.db.close()
        machine._drop()
        raise
    machine.teardown()


def test_admission_follows_the_version_of_the_agreement_in_effect(tmp_path: Path) -> None:
    """A revision of the agreement for providers taking effect later binds admissions from
    its day on: a provider that accepted the version before it is admitted only once it
    accepts the new one (HN 8(3)); under the Anhui pack, admission needs neither."""
    for policy in (HUNAN, ANHUI):
        with machine_on_sqlite(policy, tmp_path) as machine:
            machine.revise_agreement(when="later", days=2, owner=1)
            provider = machine.provider_joins(  # fault 4: it is not admitted yet
                fault=4, platform=0, which="in effect", kind="commercial", category=CATEGORIES[0]
            )
            machine.advance_clock(days=3, hours=1)
            assert machine.in_effect() == 2
            admitted = machine.onboard(provider, "admit", 800, 0, "in effect")
            assert admitted == (policy == ANHUI)
            assert machine.onboard(provider, "sign", 800, 0, "in effect")
            assert machine.onboard(provider, "admit", 800, 0, "in effect") != admitted
            assert machine.m_providers[provider].accepted == 2


def test_a_complaint_goes_to_the_authority_where_its_respondent_lies(tmp_path: Path) -> None:
    """Against the county window's provider, a complaint is mediated at the window that
    onboarded it, then by an authority whose region holds 430181 (HN 19(4), 24)."""
    with machine_on_sqlite(HUNAN, tmp_path) as machine:
        complaint = machine.complain(
            complainant="member/e1",
            provider=COUNTY_PROVIDER[0],
            member="member/e2",
            against="provider",
            about="nothing",
            pick=1,
            moves=[1, 1, 2],  # acknowledged, mediated at platform/liuyang, failed there
        )
        c = machine.m_complaints[complaint]
        assert (c.status, c.handler, c.mediator) == (
            "mediation failed",
            "platform/changsha",
            "platform/liuyang",
        )
        for outside in ("org/zhuzhou", "platform/hub", COUNTY_PROVIDER[0]):
            assert not machine.complaint_step(complaint, "mediate at authority", outside)
        assert machine.complaint_step(complaint, "mediate at authority", "org/liuyang")
        assert not machine.complaint_step(complaint, "resolve", "org/changsha")
        assert machine.complaint_step(complaint, "fail", "org/liuyang")
        assert machine.complaint_step(complaint, "resolve", "org/liuyang")  # concluded
        assert not machine.complaint_step(complaint, "close", "member/e2")
        assert machine.complaint_step(complaint, "close", "member/e1")
        assert c.status == "closed"


def test_a_complaint_outlives_the_window_that_handled_it(tmp_path: Path) -> None:
    """The window acknowledged one complaint and mediated another, then lost its
    qualification: the hub takes the first over, the city authority mediates the second."""
    with machine_on_sqlite(HUNAN, tmp_path) as machine:
        handled, mediated = (
            machine.complain(
                complainant="member/e1",
                provider="provider/p1",
                member="member/e2",
                against="provider",
                about="nothing",
                pick=1,
                moves=moves,
            )
            for moves in ([1], [1, 1])  # acknowledged by platform/changsha; mediated there
        )
        assert machine.m_complaints[handled].handler == "platform/changsha"
        assert machine.m_complaints[mediated].mediator == "platform/changsha"
        assert not machine.complaint_step(handled, "acknowledge", "platform/hub")
        assert not machine.complaint_step(mediated, "mediate at authority", "org/changsha")

        machine.disqualify_changsha(now=0, reason="考核不合格")
        assert not machine.complaint_step(handled, "resolve", "platform/changsha")
        assert machine.complaint_step(handled, "acknowledge", "platform/hub")
        assert machine.complaint_step(handled, "resolve", "platform/hub")
        assert not machine.complaint_step(mediated, "fail", "platform/changsha")
        assert machine.complaint_step(mediated, "mediate at authority", "org/changsha")
        assert machine.m_complaints[mediated].levels == ["platform", "authority"]
        assert machine.complaint_step(mediated, "resolve", "org/changsha")
        assert TALLY["hunan-sme-2015: acknowledge complaint (taking it over): ok"] >= 1


def test_a_voucher_is_applied_to_its_order_once(tmp_path: Path) -> None:
    """The holder redeemed a voucher in an order (VoucherRedeemed + VoucherApplied), then
    wrote VoucherApplied alone once more: it was accepted, and the price dropped twice for
    one redemption (rule 6, AH 17, 19). Now refused."""
    with machine_on_sqlite(ANHUI, tmp_path) as machine:
        voucher = machine.voucher_purchase(
            holder="member/u1",
            item="item/i1",
            face=60_000,
            how_much="the balance",
            twice=1,
            pay=0,
            fit=0,
        )
        machine.apply_voucher_again(voucher=voucher, pick=0)
        assert machine.load(next(iter(machine.m_vouchers[voucher].orders))).vouchers_fen == 60_000


@pytest.mark.parametrize("policy", [HUNAN, ANHUI])
@pytest.mark.parametrize("kind", ["provider", "promotion", "voucher", "export"])
def test_a_malformed_entry_is_refused(policy: str, kind: str, tmp_path: Path) -> None:
    """Client-signed entries with null or mistyped body members raised TypeError from the
    rules or the aggregate (ProviderApplied without categories, PromotionAnnounced without
    a start, VoucherIssued with a number for categories, DataExported without a scope under
    AH). Now refused with LifecycleError, nothing written."""
    with machine_on_sqlite(policy, tmp_path) as machine:
        machine.malformed_entry(kind=kind, item="item/i1", holder="member/e1")
