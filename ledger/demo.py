"""A demonstration province: deterministic synthetic data that looks like the real thing.

``run_demo`` opens a ledger under one policy and records a province's life through the
real commands, so every hard rule is checked as it would be in production: authorities
and platforms each in its region (administrative division codes), a hub (Hunan) or cloud
platform (Anhui), windows, hundreds of providers, thousands of members, items, orders
and payments, vouchers (Anhui), service records with evidence, evaluations, complaints
escalating through mediation to the authority of the locality (Hunan) or 省人社厅 (Anhui,
which also handles complaints against the operator), supervision, a blacklisting, a
qualification cancelled by the local authority (Hunan) and a termination notice. It also
plants misconduct for later detection (records late by the HN 23 deadline, where the
policy sets one; one evidence file behind several records; a burst of registrations
before an assessment: a window's quarter in Hunan, the operator's annual evaluation in
Anhui; a voucher priced above the item's normal price) and attempts forbidden commands,
which the rules refuse; the summary counts those refusals by rule, and counts misconduct
and supervision from what the log holds.

Everything derives from the seed: keys, salts, times (a simulated clock) and choices,
so the same seed gives byte-identical entries.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from ledger.app import LedgerApplication
from ledger.calendar import DEFAULT_CALENDAR, local_date
from ledger.compliance import RuleReplay
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Envelope, b64encode, parse_time
from ledger.core.errors import EntryRejectedError
from ledger.core.pi import SALT_SIZE, redact
from ledger.disclosures import DisclosureVault, person_index
from ledger.domain.catalogue import Promotion, ServiceItem
from ledger.domain.complaints import Complaint
from ledger.domain.errors import RuleViolationError
from ledger.domain.registration import (
    CREDIT_CODE_CHARS,
    Acceptance,
    Agreement,
    Identity,
    Member,
    Organisation,
    Platform,
    Provider,
    age_check,
    region_prefix,
    with_check_character,
    within,
)
from ledger.domain.services import ServiceRecord
from ledger.domain.supervision import (
    AdminAction,
    AnnualEvaluation,
    Authorisation,
    AwardRevocation,
    DataExport,
    FundRecovery,
    StatisticsReport,
    WorkPlan,
)
from ledger.domain.trading import Deposit, GovernmentPurchase, Order, Voucher
from ledger.events import LedgerAggregate, LedgerEvent, event_clock
from ledger.keys import Key
from ledger.keystore import Keystore, MemorySigners, log_actor
from ledger.policy import PolicyPack, available_packs

POLICIES = tuple(available_packs())
HUNAN, ANHUI = "hunan-sme-2015", "anhui-startup-2017"
START = datetime(2025, 3, 3, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Shanghai
BATCH = 48
MIN_DAYS = 21  # even a small demo lives a few weeks

HN_CITIES = ("长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德", "郴州", "益阳")
HN_COUNTIES = {
    "长沙": ("浏阳", "宁乡"),
    "株洲": ("醴陵", "攸县"),
    "湘潭": ("湘乡", "韶山"),
    "衡阳": ("耒阳", "常宁"),
    "岳阳": ("汨罗", "临湘"),
    "常德": ("津市", "澧县"),
    "郴州": ("资兴", "宜章"),
    "益阳": ("沅江", "桃江"),
}
HN_INDUSTRIES = (
    ("工程机械", "长沙"),
    ("轨道交通", "株洲"),
    ("新材料", "湘潭"),
    ("电子信息", "长沙"),
)
AH_CITIES = ("合肥", "芜湖", "蚌埠", "安庆", "阜阳", "马鞍山")
#: The administrative division codes (GB/T 2260) of the places the demo's authorities and
#: platforms serve: a county's code lies within its city's, a city's within its province's.
DIVISIONS = {
    "湖南省": "430000",
    "长沙": "430100",
    "株洲": "430200",
    "湘潭": "430300",
    "衡阳": "430400",
    "邵阳": "430500",
    "岳阳": "430600",
    "常德": "430700",
    "张家界": "430800",
    "益阳": "430900",
    "郴州": "431000",
    "永州": "431100",
    "怀化": "431200",
    "娄底": "431300",
    "湘西": "433100",
    "浏阳": "430181",
    "宁乡": "430182",
    "醴陵": "430281",
    "攸县": "430223",
    "湘乡": "430381",
    "韶山": "430382",
    "耒阳": "430481",
    "常宁": "430482",
    "汨罗": "430681",
    "临湘": "430682",
    "津市": "430781",
    "澧县": "430723",
    "资兴": "431081",
    "宜章": "431022",
    "沅江": "430981",
    "桃江": "430922",
    "安徽省": "340000",
    "合肥": "340100",
    "芜湖": "340200",
    "蚌埠": "340300",
    "马鞍山": "340500",
    "安庆": "340800",
    "阜阳": "341200",
}
CATEGORIES = ("融资对接", "管理咨询", "人才培训", "法律服务", "技术创新", "市场开拓", "创业辅导")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静强磊军洋勇艳杰涛明超秀霞平刚桂"
INDUSTRY_WORDS = ("新材料", "电子信息", "智能制造", "生物医药", "现代农业", "文化创意", "物流")
MEDIA = ("application/pdf", "image/jpeg", "text/csv", "image/png")
DELIVERY_HN = ("二维码签到数据", "服务签名表", "现场照片", "总结或验收报告", "服务收支凭证")

Progress = Callable[[int, int], None]


@dataclass
class DemoResult:
    """What one demo run wrote. ``misconduct`` counts planted misconduct that the log
    shows (late records by the deadline each record carries, records sharing an evidence
    file) or that was written (a registration burst, an overpriced voucher order);
    ``supervision`` counts lawful acts of supervision in the log, such as a termination
    notice; ``refused`` counts forbidden commands the rules refused."""

    origin: str
    policy: str
    entries: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    actors: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    misconduct: Counter[str] = field(default_factory=Counter)
    supervision: Counter[str] = field(default_factory=Counter)
    disclosures: int = 0
    first: str = ""
    last: str = ""
    compliance_findings: int = 0


LATE_RECORDS = "late service records (entered after the deadline each record carries)"
SHARED_EVIDENCE = "records sharing one evidence file"
#: Acts of supervision the summary lists apart from misconduct, by entry type.
SUPERVISION = {
    "PlatformTerminationNoticed": "termination notices given",
    "PartyNotified": "affected parties notified of a termination",
    "ProviderBlacklisted": "providers blacklisted",
    "ProviderQualificationCancelled": "provider qualifications cancelled",
    "MemberBlacklisted": "members blacklisted",
    "FundRecoveryOrdered": "fund recoveries ordered",
    "AwardRevoked": "awards revoked",
    "AnnualEvaluationRecorded": "annual performance evaluations",
}


class LogTally:
    """The summary's counts from the entries themselves, in one pass over the log."""

    def __init__(self, policy: PolicyPack) -> None:
        self.policy = policy
        self.misconduct: Counter[str] = Counter()
        self.supervision: Counter[str] = Counter()
        self.records_of: defaultdict[str, set[str]] = defaultdict(set)

    def add(self, env: Envelope) -> None:
        if env.type == "ServiceRecorded":
            deadline = env.body["deadline"]
            if (
                deadline is not None
                and deadline["status"] == "ok"
                and local_date(parse_time(env.time)) > date.fromisoformat(deadline["due"])
            ):
                self.misconduct[LATE_RECORDS] += 1
        if env.type in ("ServiceRecorded", "EvidenceAttached"):
            for item in env.body["evidence"]:
                self.records_of[item["sha256"]].add(env.stream)
        if env.type in SUPERVISION:
            permission = self.policy.permissions.get(env.type)
            articles = f" ({', '.join(permission.articles)})" if permission else ""
            self.supervision[SUPERVISION[env.type] + articles] += 1

    def finish(self) -> None:
        shared = {r for records in self.records_of.values() if len(records) > 1 for r in records}
        if shared:
            self.misconduct[SHARED_EVIDENCE] = len(shared)


def overdue_basis(policy: PolicyPack, day: date, rng: random.Random) -> date | None:
    """A basis day whose record deadline (HN 23: N working days, the start day not counted,
    holidays and make-up days as the calendar has them) passed before ``day``; None where
    the policy sets no deadline or the calendar does not cover the days."""
    deadline = policy.parameters.service_record_deadline
    if deadline is None:
        return None
    basis = day - timedelta(days=rng.randint(8, 30))
    due = DEFAULT_CALENDAR.deadline(basis, deadline.working_days).due
    while due is not None and due >= day:  # a holiday stretched the deadline
        basis -= timedelta(days=1)
        due = DEFAULT_CALENDAR.deadline(basis, deadline.working_days).due
    return None if due is None else basis


class SimClock:
    """Simulated time: each event a few seconds to minutes after the one before."""

    def __init__(self, rng: random.Random, start: datetime = START) -> None:
        self.rng, self.t = rng, start

    def now(self) -> datetime:
        return self.t

    def tick(self) -> datetime:
        self.t += timedelta(seconds=self.rng.randint(3, 90))
        return self.t

    def next_day(self, days: int = 1) -> None:
        """Jump to about 09:00 Shanghai ``days`` days later, skipping Sundays."""
        day = local_date(self.t) + timedelta(days=days)
        if day.weekday() == 6:
            day += timedelta(days=1)
        self.t = datetime(day.year, day.month, day.day, 1, tzinfo=UTC) + timedelta(
            minutes=self.rng.randint(0, 59)
        )

    @property
    def day(self) -> date:
        return local_date(self.t)


class Demo:
    """One province's simulated life on one ledger."""

    def __init__(
        self,
        app: LedgerApplication,
        keys: Keystore | MemorySigners,
        vault: DisclosureVault,
        rng: random.Random,
        clock: SimClock,
        result: DemoResult,
        target: int,
        progress: Progress | None,
    ) -> None:
        self.app, self.keys, self.vault, self.rng, self.clock = app, keys, vault, rng, clock
        self.result, self.target, self.progress = result, target, progress
        # the key of the persons' ID-card index: from the seed, so a seed gives the same
        # entries whatever the vault's master key (synthetic people, not a secret)
        self.index_key = rng.randbytes(32)
        self.pending: list[LedgerAggregate | LedgerEvent] = []
        self.agreement: Agreement | None = None  # the network's user agreement (HN 8(3))
        self.counters: Counter[str] = Counter()
        self.roles: Counter[str] = Counter()
        self.hunan = app.policy.name == HUNAN
        self.pace = max(1, round(target / 15_000))  # busier, not longer: the span stays ~1 year
        self.records: list[tuple[str, list[str]]] = []
        self.orders: list[tuple[str, str, str]] = []
        self.complaints: list[str] = []
        self.promotions: list[Promotion] = []
        self.vouchers: list[Voucher] = []
        self.complaints_against: Counter[str] = Counter()
        #: authorities that act by locality (HN 19(4), 24) -> their division codes
        self.authority_regions: dict[str, str] = {}
        self.barred: set[str] = set()
        self.reused = hashlib.sha256(rng.randbytes(32)).hexdigest()
        self.burst_done = self.blacklist_done = self.notice_done = False
        self.item_category: dict[str, str] = {}

    # -- plumbing -----------------------------------------------------------------------

    def next_id(self, kind: str) -> str:
        self.counters[kind] += 1
        return f"{kind}/{self.counters[kind]:05d}"

    def digest(self) -> str:
        return hashlib.sha256(self.rng.randbytes(32)).hexdigest()

    def add(self, *aggregates: LedgerAggregate | LedgerEvent) -> None:
        self.pending.extend(aggregates)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            batch, self.pending = self.pending, []
            self.app.save(*batch)
            if self.progress is not None:
                self.progress(self.entries, self.target)

    @property
    def entries(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def enrol(self, actor: str, role: str) -> str:
        """A key for ``actor`` from the seed, registered by the root in the next batch."""
        signer = LocalSigner.from_seed(self.rng.randbytes(32))
        self.keys.add(actor, signer)
        self.add(
            Key.register(
                actor="root",
                subject=actor,
                key=signer.key_id,
                public_key=b64encode(signer.public_key),
            )
        )
        self.roles[role] += 1
        return actor

    def registered(self, registrant: Provider | Member) -> None:
        """``registrant``'s new registration with the claim of its identity (rule 4)."""
        self.add(registrant, Identity.claimed_by(registrant, None))

    def attempt(self, label: str, *aggregates: LedgerAggregate) -> None:
        """A forbidden command: the rules must refuse it and nothing may be written."""
        self.flush()
        before = self.entries
        try:
            self.app.save(*aggregates)
        except RuleViolationError as e:
            self.result.refused[f"rule {e.rule} ({e.article}): {label}"] += 1
        except EntryRejectedError as e:
            self.result.refused[f"{type(e).__name__}: {label}"] += 1
        else:
            raise AssertionError(f"the ledger accepted a forbidden command: {label}")
        if self.entries != before:
            raise AssertionError(f"a refused command wrote to the log: {label}")

    def sketch_item(
        self, provider: str, title: str, *, fee_fen: int, function: str = "专业服务"
    ) -> ServiceItem:
        """A bare commercial item (for commands the rules are expected to refuse)."""
        return ServiceItem.publish(
            stream=self.next_id("item"),
            actor=provider,
            provider=provider,
            title=title,
            category="管理咨询",
            function=function,
            charge="commercial",
            fee_fen=fee_fen,
            content=title,
            standard="-",
            process="-",
            time_limit_days=5,
        )

    def use_voucher(self, voucher: Voucher, *, order: Order, amount_fen: int) -> None:
        """Redeem ``voucher`` in ``order``: the order must be stored before the redemption."""
        self.add(order)
        self.flush()
        voucher.redeem(order=order, amount_fen=amount_fen)

    def salts(self, paths: list[str]) -> dict[str, bytes]:
        return {p: self.rng.randbytes(SALT_SIZE) for p in paths}

    # -- people and firms ---------------------------------------------------------------

    def person_name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(
            self.rng.choices(GIVEN, k=self.rng.choice((1, 2)))
        )

    def phone(self) -> str:
        return f"1{self.rng.choice('3578')}{self.rng.randint(10**8, 10**9 - 1)}"

    def credit_code(self, region: str = "43") -> str:
        body = "".join(self.rng.choice(CREDIT_CODE_CHARS) for _ in range(13))
        return with_check_character("91" + region + body)

    def organisation(
        self,
        stream: str,
        name: str,
        roles: list[str],
        parent: str | None = None,
        place: str | None = None,
    ) -> str:
        """An organisation; one that serves a ``place`` is registered with its division
        code, and an authority of the policy's locality is remembered with it."""
        self.enrol(stream, roles[0])
        region = DIVISIONS[place] if place is not None else None
        self.add(
            Organisation.register(
                stream=stream, actor="root", name=name, roles=roles, parent=parent, region=region
            )
        )
        locality = self.app.policy.parameters.locality
        if region is not None and locality is not None and set(roles) & set(locality.roles):
            self.authority_regions[stream] = region
        return stream

    def platform(
        self,
        stream: str,
        name: str,
        level: str,
        parent: str | None,
        region: str,
        certifier: str,
        recommender: str | None,
    ) -> str:
        self.enrol(stream, f"{level} platform")
        platform = Platform.apply_for(
            stream=stream,
            actor=stream,
            name=name,
            level=level,
            parent=parent,
            region=DIVISIONS[region],
        )
        if recommender is not None:
            platform.recommend(actor=recommender)
        self.counters["certificate"] += 1
        platform.certify(actor=certifier, certificate=f"CERT-{self.counters['certificate']:04d}")
        self.add(platform)
        return stream

    def provider(self, reviewer: str, home: str, region: str) -> Provider:
        stream = self.next_id("provider")
        self.enrol(stream, "provider")
        category = self.rng.sample(CATEGORIES, k=2)
        provider = Provider.apply_for(
            stream=stream,
            actor=stream,
            name=f"{region}{self.rng.choice(INDUSTRY_WORDS)}{category[0]}服务有限公司",
            credit_code=self.credit_code(),
            categories=category,
        )
        provider.verify_real_name(actor=reviewer, method="统一社会信用代码核验")
        provider.review(
            actor=reviewer,
            documents=[
                {"type": "营业执照", "sha256": self.digest()},
                {"type": "资质证书", "sha256": self.digest()},
            ],
            valid_until=(self.clock.day + timedelta(days=365 * 3)).isoformat(),
        )
        claim = Identity.claimed_by(provider, None)
        registered = provider.take_events()
        provider.admit(actor=reviewer, platform=home)
        accepted = []
        if self.agreement is not None and self.app.policy.parameters.provider_agreement:
            accepted = [Acceptance.accept(actor=stream, agreement=self.agreement.id, version=1)]
        self.add(*registered, claim, *accepted, provider)  # accepted before admission (HN 8(3))
        return provider

    def enterprise(self, registrar: str, home: str, region: str, *, key: bool = True) -> str:
        stream = self.next_id("member")
        paths = ["/contact/name", "/contact/phone"]
        body, disclosures = redact(
            {"contact": {"name": self.person_name(), "phone": self.phone()}},
            paths,
            self.salts(paths),
        )
        member = Member.register(
            stream=stream,
            actor=registrar,
            kind="enterprise",
            name=f"{region}{self.rng.choice(INDUSTRY_WORDS)}有限公司",
            credit_code=self.credit_code(),
            identity=body["contact"],
            platform=home,
            state_owned=None if self.hunan else False,
        )
        member.verify_real_name(actor=registrar, method="营业执照核验")
        if key:
            self.enrol(stream, "enterprise member")
        self.registered(member)
        self.result.disclosures += self.vault.store(stream, disclosures)
        return stream

    def person(self, registrar: str, home: str, birth: date) -> Member:
        """A person (AH 25): the age check is made from the birth date, which stays a
        disclosure; only the check's result is written."""
        stream = self.next_id("member")
        ages = self.app.policy.parameters.user_age_range
        check = age_check(birth, self.clock.day, (ages.min_years, ages.max_years)) if ages else None
        values = {
            "name": self.person_name(),
            "id_card": f"34{self.rng.randint(10**15, 10**16 - 1)}",
            "birth_date": birth.isoformat(),
            "phone": self.phone(),
        }
        paths = [f"/{k}" for k in values]
        body, disclosures = redact(values, paths, self.salts(paths))
        member = Member.register(
            stream=stream,
            actor=registrar,
            kind="person",
            name=body.pop("name"),
            credit_code=None,
            identity=body,
            platform=home,
            age_check=check,
            index=person_index(self.index_key, values["id_card"]),
        )
        member.verify_real_name(actor=registrar, method="身份证核验")
        if check is not None and check["result"] != "within":
            return member  # refused by the caller's attempt(); nothing is stored
        self.enrol(stream, "person member")
        self.registered(member)
        self.result.disclosures += self.vault.store(stream, disclosures)
        return member

    def item(
        self, provider: str, *, free_function: str | None = None, self_operated: bool = False
    ) -> str:
        stream = self.next_id("item")
        category = self.rng.choice(CATEGORIES)
        fee = 0 if free_function else self.rng.choice((30_000, 50_000, 80_000, 120_000, 200_000))
        self.add(
            ServiceItem.publish(
                stream=stream,
                actor=provider,
                provider=provider,
                self_operated=self_operated,
                title=f"{category}服务",
                category=category,
                function=free_function or "专业服务",
                charge="free" if free_function else "commercial",
                fee_fen=fee,
                content=f"{category}:需求诊断、方案设计与实施",
                standard="服务规范 DB43/T",
                process="在线受理-对接-实施-验收",
                time_limit_days=self.rng.choice((5, 10, 15, 30)),
            )
        )
        return stream

    # -- evidence -----------------------------------------------------------------------

    def evidence(self, basis: date, digest: str | None = None) -> list[dict[str, Any]]:
        types = self.app.policy.parameters.evidence_types
        basis_type = "合同" if types is None else self.rng.choice(types.basis)
        delivery = DELIVERY_HN if types is None else types.delivery
        kinds = [basis_type, *self.rng.sample(delivery, k=self.rng.choice((1, 2)))]
        items = []
        for n, kind in enumerate(kinds):
            items.append(
                {
                    "type": kind,
                    "sha256": digest if (digest and n == 1) else self.digest(),
                    "basis_date": basis.isoformat(),
                    "media_type": self.rng.choice(MEDIA),
                    "size": self.rng.randint(20_000, 4_000_000),
                }
            )
        return items


def _figures(rng: random.Random) -> dict[str, int]:
    services = rng.randint(20, 400)
    evaluations = rng.randint(0, services)
    return {
        "items": rng.randint(5, 60),
        "services": services,
        "enterprise_times": services + rng.randint(0, services * 3),
        "enterprises": rng.randint(5, services),
        "evaluations": evaluations,
        "satisfied": rng.randint(0, evaluations),
    }


class DemoProvince(Demo):
    """The common life of both provinces; the cast differs by policy."""

    def build(self) -> None:
        with event_clock(self.clock.tick):
            self.cast()
            self.population()
            self.flush()
            days = 0
            while self.entries < self.target or days < MIN_DAYS:
                self.day()
                self.clock.next_day()
                days += 1
            self.finale()
            self.flush()

    # -- the cast -------------------------------------------------------------------------

    def cast(self) -> None:
        rng, scale = self.rng, max(self.target / 15_000, 0.05)
        self.n_providers = max(12, int(240 * scale))
        self.n_members = max(60, int(1500 * scale))
        self.windows: list[str] = []
        self.home_of: dict[str, str] = {}
        self.region_of: dict[str, str] = {}
        self.county_windows: list[str] = []
        if self.hunan:
            self.authority = self.organisation(
                "org/hn-province",
                "湖南省经济和信息化委员会",
                ["provincial_authority"],
                place="湖南省",
            )
            self.hub = self.platform(
                "platform/hub",
                "湖南省中小企业公共服务平台",
                "hub",
                None,
                "湖南省",
                self.authority,
                None,
            )
            self.city_authority: dict[str, str] = {}
            for i, city in enumerate(HN_CITIES[: max(2, min(8, int(8 * scale) or 2))]):
                city_org = self.organisation(
                    f"org/hn-city-{i + 1:02d}",
                    f"{city}市经济和信息化局",
                    ["city_authority"],
                    place=city,
                )
                self.city_authority[city] = city_org
                window = self.platform(
                    f"platform/city-{i + 1:02d}",
                    f"{city}市中小企业综合窗口服务平台",
                    "city",
                    self.hub,
                    city,
                    self.authority,
                    city_org,
                )
                self.windows.append(window)
                self.region_of[window] = city
                for j, county in enumerate(HN_COUNTIES[city]):
                    self.organisation(  # a county authority: the locality of its window
                        f"org/hn-county-{i + 1:02d}{j + 1}",
                        f"{county}工业和信息化局",
                        ["city_authority"],
                        place=county,
                    )
                    cw = self.platform(
                        f"platform/county-{i + 1:02d}{j + 1}",
                        f"{county}中小企业综合窗口服务平台",
                        "county",
                        window,
                        county,
                        self.authority,
                        city_org,
                    )
                    self.windows.append(cw)
                    self.county_windows.append(cw)
                    self.region_of[cw] = county
            for k, (industry, city) in enumerate(HN_INDUSTRIES):
                if city not in self.city_authority:
                    continue
                iw = self.platform(
                    f"platform/industry-{k + 1:02d}",
                    f"{industry}产业窗口服务平台",
                    "industry",
                    self.hub,
                    city,
                    self.authority,
                    self.city_authority[city],
                )
                self.windows.append(iw)
                self.region_of[iw] = city
            self.reviewer = self.settler = self.blacklister = self.hub
            self.mediator = next(iter(self.city_authority.values()))
            self.agreement = Agreement.publish(
                stream="agreement/platform-user",
                actor=self.hub,
                title="湖南省中小企业公共服务平台网络用户协议",
                parties=["provider", "member"],
                sha256=self.digest(),
                effective_from=self.clock.day.isoformat(),
            )
            self.add(self.agreement)
            self.free_function = "服务受理、服务接转、服务记录、服务评价"
        else:
            self.hrss = self.organisation(
                "org/ah-hrss",
                "安徽省人力资源和社会保障厅",
                ["provincial_hr_department"],
                place="安徽省",
            )
            self.finance = self.organisation(
                "org/ah-finance", "安徽省财政厅", ["provincial_finance_department"], place="安徽省"
            )
            bureau = self.organisation(
                "org/ah-employment",
                "安徽省劳动就业服务局",
                ["government_department"],
                place="安徽省",
            )
            self.head = self.organisation(
                "org/ah-employment-head",
                "安徽省劳动就业服务局负责人",
                ["department_head"],
                bureau,
            )
            self.operator = self.organisation(
                "org/ah-operator", "安徽省创业服务云平台运营商", ["cloud_operator"]
            )
            self.supervisor = self.organisation(
                "org/ah-supervisor", "云平台第三方监理单位", ["supervisor"]
            )
            self.admins = [
                self.organisation(
                    f"org/ah-admin-{i + 1}",
                    f"政务服务管理员{i + 1}",
                    ["government_admin"],
                    bureau,
                )
                for i in range(3)
            ]
            self.departments = [
                self.organisation(
                    f"org/ah-hr-{i + 1:02d}",
                    f"{c}市人力资源和社会保障局",
                    ["government_department"],
                    place=c,
                )
                for i, c in enumerate(AH_CITIES)
            ]
            self.cloud = self.platform(
                "platform/cloud", "安徽省创业服务云平台", "cloud", None, "安徽省", self.hrss, None
            )
            self.windows = [self.cloud]
            self.region_of[self.cloud] = "安徽"
            self.reviewer = self.settler = self.blacklister = self.operator
            self.mediator = self.hrss
            self.agreement = Agreement.publish(
                stream="agreement/cloud-user",
                actor=self.operator,
                title="安徽省创业服务云平台用户服务协议",
                parties=["provider", "member"],
                sha256=self.digest(),
                effective_from=self.clock.day.isoformat(),
            )
            self.add(self.agreement)
            self.free_function = "政策服务"
            self.flush()
            self.authorisations: dict[str, str] = {}
            for admin in self.admins:
                stream = self.next_id("authorisation")
                self.add(
                    Authorisation.authorise_admin(
                        stream=stream,
                        actor=self.head,
                        admin=admin,
                        scope=["政策发布", "业务审核", "数据查询"],
                        valid_until=(self.clock.day + timedelta(days=540)).isoformat(),
                    )
                )
                self.authorisations[admin] = stream
            self.sharing = self.next_id("authorisation")
            self.add(
                Authorisation.authorise_sharing(
                    stream=self.sharing,
                    actor=self.hrss,
                    grantee="安徽省就业创业研究院",
                    purpose="创业服务成效评估",
                    scope=["交易统计", "服务记录"],
                    valid_until=(self.clock.day + timedelta(days=400)).isoformat(),
                )
            )
        rng.shuffle(self.windows)

    def population(self) -> None:
        rng = self.rng
        self.providers: list[str] = []
        self.items: dict[str, list[str]] = {}
        self.item_fee: dict[str, int] = {}
        self.item_provider: dict[str, str] = {}
        self.free_items: list[str] = []
        for i in range(self.n_providers):
            home = self.windows[i % len(self.windows)]
            provider = self.provider(self.reviewer, home, self.region_of[home]).id
            self.providers.append(provider)
            self.home_of[provider] = home
            mine = []
            for _ in range(rng.choice((1, 2, 2, 3))):
                item = self.item(provider)
                mine.append(item)
            if rng.random() < 0.15:
                free = self.item(provider, free_function=self.free_function)
                self.free_items.append(free)
            self.items[provider] = mine
            for item in mine:
                self.item_provider[item] = provider
            if self.hunan and rng.random() < 0.3:
                self.add(
                    Deposit.pay(
                        provider=provider,
                        amount_fen=rng.choice((500_000, 1_000_000)),
                        payment_ref=f"DEP-{i:05d}",
                    )
                )
            signed = self.app.policy.parameters.provider_agreement is not None
            if self.agreement is not None and not signed and rng.random() < 0.6:
                self.add(Acceptance.accept(actor=provider, agreement=self.agreement.id, version=1))
            if i % 40 == 39:
                self.clock.next_day()
        self.flush()
        for mine in self.items.values():
            for item in mine:
                state: ServiceItem = self.app.repository.get(item)
                self.item_fee[item] = state.fields["fee_fen"]
                self.item_category[item] = state.fields["category"]
        self.members: list[str] = []
        self.member_home: dict[str, str] = {}
        registrar_of = (lambda w: w) if self.hunan else (lambda _: self.operator)
        for i in range(self.n_members):
            home = self.windows[i % len(self.windows)]
            if not self.hunan and rng.random() < 0.5:
                birth = date(
                    rng.randint(1962, 2011) if rng.random() < 0.03 else rng.randint(1970, 2005),
                    rng.randint(1, 12),
                    rng.randint(1, 28),
                )
                member = self.person(self.operator, home, birth)
                if member.age_check and member.age_check["result"] != "within":
                    self.attempt("a person outside 16-59 registering", member)
                    continue
                stream = member.id
            else:
                stream = self.enterprise(registrar_of(home), home, self.region_of[home])
            self.members.append(stream)
            self.member_home[stream] = home
            if i % 80 == 79:
                self.clock.next_day()
        self.flush()
        self.attempts_at_start()

    def attempts_at_start(self) -> None:
        provider = self.providers[0]
        item = self.sketch_item(provider, "政策解读", fee_fen=20_000, function=self.free_function)
        self.attempt("a fee on a free public-interest service", item)
        applicant = self.next_id("provider")
        self.enrol(applicant, "provider (applicant)")
        self.flush()
        newcomer = Provider.apply_for(
            stream=applicant,
            actor=applicant,
            name="未审核服务有限公司",
            credit_code=self.credit_code(),
            categories=["管理咨询"],
        )
        self.registered(newcomer)
        self.flush()
        early = self.sketch_item(applicant, "未准入服务", fee_fen=10_000)
        self.attempt("publishing before verification and admission", early)
        if self.app.policy.parameters.provider_agreement is not None:
            newcomer.verify_real_name(actor=self.reviewer, method="统一社会信用代码核验")
            newcomer.review(
                actor=self.reviewer,
                documents=[{"type": "营业执照", "sha256": self.digest()}],
                valid_until=(self.clock.day + timedelta(days=365)).isoformat(),
            )
            self.add(newcomer)
            self.flush()
            newcomer.admit(actor=self.reviewer, platform=self.reviewer)
            self.attempt("admission without accepting the user agreement", newcomer)
        registrar = self.windows[0] if self.hunan else self.operator
        unverified = self.next_id("member")
        member = Member.register(
            stream=unverified,
            actor=registrar,
            kind="enterprise",
            name="未实名企业",
            credit_code=self.credit_code(),
            identity={},
            platform=self.windows[0],
            state_owned=None if self.hunan else False,
        )
        self.enrol(unverified, "enterprise member (unverified)")
        self.registered(member)
        self.flush()
        item_id = self.items[self.providers[1]][0]
        order = Order.create(
            stream=self.next_id("order"),
            buyer=unverified,
            item=item_id,
            provider=self.providers[1],
            channel="online",
            price_fen=self.item_fee[item_id],
        )
        self.attempt("trading before real-name verification", order)
        if not self.hunan:
            soe = Member.register(
                stream=self.next_id("member"),
                actor=self.operator,
                kind="enterprise",
                name="安徽某国有投资集团",
                credit_code=self.credit_code(),
                identity={},
                platform=self.cloud,
                state_owned=True,
            )
            self.attempt("a state-owned enterprise registering", soe)

    # -- a day ---------------------------------------------------------------------------------

    def day(self) -> None:
        rng = self.rng
        day = self.clock.day
        if day.weekday() >= 5:
            return
        for _ in range(rng.randint(6, 14) * self.pace):
            self.service_record(day)
        for _ in range(rng.randint(3, 8) * self.pace):
            self.order(day)
        if rng.random() < 0.25:
            self.complaint()
        self.flush()
        self.advance_complaints()
        if self.hunan and rng.random() < 0.08:
            self.promotion()
        if not self.hunan:
            self.anhui_day(day)
        if (
            day.month in (3, 6, 9, 12)
            and day.day >= 25
            and not self.counters[f"report-{day:%Y-%m}"]
        ):
            self.counters[f"report-{day:%Y-%m}"] += 1
            self.reports(day)
        if (
            day.month == 1
            and day.day >= 20
            and self.hunan
            and not self.counters[f"plan-{day.year}"]
        ):
            self.counters[f"plan-{day.year}"] += 1
            for window in self.windows:
                self.add(
                    WorkPlan.file(
                        platform=window,
                        year=day.year,
                        sha256=self.digest(),
                        summary=f"{day.year}年度工作计划",
                    )
                )
        self.misconduct(day)
        self.flush()

    def service_record(
        self,
        day: date,
        *,
        late: bool = False,
        digest: str | None = None,
        provider: str | None = None,
    ) -> ServiceRecord | None:
        """A service record, or None when none is written. ``late``: its basis arose so long
        before ``day`` that the record is late by the calendar (HN 23); there is none where
        the policy sets no deadline or the calendar cannot yet say."""
        rng = self.rng
        provider = provider or rng.choice(self.providers)
        if provider in self.barred:
            return None
        platform = self.home_of[provider]
        if late:
            overdue = overdue_basis(self.app.policy, day, rng)
            if overdue is None:
                return None
            basis = overdue
        else:
            basis = day - timedelta(days=rng.choice((0, 0, 1, 1, 2, 3)))
        served = rng.sample(
            self.members, k=min(len(self.members), rng.choice((1, 1, 1, 2, 3, 5, 12, 30)))
        )
        item = rng.choice(self.items[provider])
        free = rng.random() < 0.4
        record = ServiceRecord.record(
            policy=self.app.policy,
            stream=self.next_id("service"),
            actor=platform if self.hunan else provider,
            provider=provider,
            platform=platform,
            item=item,
            enterprises=served,
            channel=rng.choice(("online", "offline")),
            charge="free" if free else "commercial",
            fee_fen=0 if free else self.item_fee[item] * len(served),
            evidence=self.evidence(basis, digest),
        )
        if rng.random() < 0.35:
            record.evaluate(
                enterprise=served[0],
                score=rng.choice((3, 4, 4, 5, 5, 5)),
                comment=rng.choice(("满意", "很专业", "响应及时", "一般")),
            )
        if rng.random() < 0.03:
            record.attach_evidence(
                actor=platform if self.hunan else provider,
                evidence=self.evidence(basis),
                reason="补充验收报告",
            )
        self.add(record)
        self.records.append((record.id, served))
        return record

    def order(
        self,
        day: date,
        *,
        voucher: Voucher | None = None,
        price: int | None = None,
        buyer: str | None = None,
    ) -> Order | None:
        rng = self.rng
        provider = rng.choice(self.providers)
        if provider in self.barred:
            return None
        item = rng.choice(self.items[provider])
        buyer = buyer or rng.choice(self.members)
        online = voucher is not None or rng.random() < 0.7
        order = Order.create(
            stream=self.next_id("order"),
            buyer=buyer,
            item=item,
            provider=provider,
            channel="online" if online else "offline",
            price_fen=price or self.item_fee[item],
        )
        pending: list[LedgerAggregate] = []
        if voucher is not None:
            amount = min(voucher.face_value_fen - voucher.redeemed_fen, order.price_fen)
            self.use_voucher(voucher, order=order, amount_fen=amount)
            pending.append(voucher)
        if not online:
            order.deliver_risk_notice(
                actor=self.settler if not self.hunan else self.home_of[provider],
                notice_sha256=self.digest(),
            )
        if order.price_fen > order.vouchers_fen:
            order.initiate_payment(method=rng.choice(("wechat", "alipay", "unionpay")))
            self.counters["payment"] += 1
            order.settle(
                actor=self.settler, payment_ref=f"PAY{day:%Y%m%d}{self.counters['payment']:06d}"
            )
        order.complete()
        order.issue_receipt(receipt_no=f"FP{self.counters['payment']:08d}")
        if rng.random() < 0.5:
            order.evaluate(actor=buyer, score=rng.choice((2, 3, 4, 5, 5)), comment="服务评价")
        if rng.random() < 0.03 and order.settled_fen:
            order.refund(
                actor=self.settler,
                payment_ref=f"REF{self.counters['payment']:06d}",
                amount_fen=order.settled_fen // 2,
                reason="部分服务未履行",
            )
        self.add(*pending, order)
        self.orders.append((order.id, buyer, provider))
        return order

    def complaint(self) -> None:
        if not self.orders:
            return
        supervised = self.app.policy.parameters.complaint_supervisors is not None
        first = len(self.complaints) >= 3 and not self.counters["operator-complaint"]
        if supervised and (first or self.rng.random() < 0.1):
            self.operator_complaint()
            return
        order, buyer, provider = self.rng.choice(self.orders[-200:])
        if provider in self.barred:
            return
        complaint = Complaint.register(
            stream=self.next_id("complaint"),
            complainant=buyer,
            respondent=provider,
            about=order,
            summary=self.rng.choice(("服务未按约定完成", "收费与公示不符", "服务质量差")),
        )
        complaint.acknowledge(
            actor=self.handler(provider), reference=f"TS{self.counters['complaint']:05d}"
        )
        self.add(complaint)
        self.complaints.append(complaint.id)
        self.complaints_against[provider] += 1

    def operator_complaint(self) -> None:
        """A complaint against the cloud operator itself (AH 10(5), 14(3)): never handled by
        the operator, a party to it, but by 省人社厅, which supervises it (AH 7)."""
        complaint = Complaint.register(
            stream=self.next_id("complaint"),
            complainant=self.rng.choice(self.members),
            respondent=self.operator,
            about=None,
            summary=self.rng.choice(("平台咨询长时间无人回复", "投诉处理不及时", "服务排名不公")),
        )
        reference = f"RST{self.counters['complaint']:05d}"
        if not self.counters["operator-complaint"]:
            self.add(complaint)
            self.flush()
            own: Complaint = self.app.repository.get(complaint.id)
            own.acknowledge(actor=self.operator, reference=reference)
            self.attempt("the operator handling a complaint against itself", own)
            complaint = self.app.repository.get(complaint.id)
        self.counters["operator-complaint"] += 1
        complaint.acknowledge(actor=self.hrss, reference=reference)
        self.add(complaint)
        self.complaints.append(complaint.id)

    def handler(self, provider: str) -> str:
        return self.home_of[provider] if self.hunan else self.operator

    def local_authority(self, subject: str) -> str:
        """The authority of the locality (HN 19(4), 24) where ``subject`` was onboarded: of
        those whose region holds its onboarding platform's, the one of the narrowest."""
        where = DIVISIONS[self.region_of[self.home_of[subject]]]
        holding = [org for org, code in self.authority_regions.items() if within(where, code)]
        return max(holding, key=lambda org: len(region_prefix(self.authority_regions[org])))

    def outsider(self, subject: str) -> str | None:
        """An authority whose region does not hold ``subject``'s onboarding platform's."""
        where = DIVISIONS[self.region_of[self.home_of[subject]]]
        return next(
            (org for org, code in self.authority_regions.items() if not within(where, code)),
            None,
        )

    def advance_complaints(self) -> None:
        if not self.complaints:
            return
        stream = self.rng.choice(self.complaints[-30:])
        complaint: Complaint = self.app.repository.get(stream)
        rng = self.rng
        if complaint.status == "acknowledged" and complaint.respondent not in self.home_of:
            # no platform onboarded the respondent (AH 7: the operator): its handler resolves
            complaint.resolve(
                actor=str(complaint.handler),
                outcome=rng.choice(("责令运营商整改", "已督促限期答复")),
            )
        elif complaint.status == "acknowledged":
            complaint.mediate(actor=self.handler(complaint.respondent), level="platform")
        elif complaint.status == "mediating":
            if complaint.levels == ["platform"] and rng.random() < 0.35:
                complaint.mediation_failed(reason="双方未达成一致")
            else:
                complaint.resolve(
                    actor=complaint.mediator or self.mediator,
                    outcome=rng.choice(("退还部分费用", "重新提供服务", "赔礼道歉")),
                )
        elif complaint.status == "mediation failed" and self.authority_regions:
            stray = self.outsider(complaint.respondent)
            if stray is not None and not self.counters["stray-mediation"]:
                self.counters["stray-mediation"] += 1
                elsewhere: Complaint = self.app.repository.get(stream)
                elsewhere.mediate(actor=stray, level="authority")
                self.attempt("mediation by the authority of another locality", elsewhere)
            complaint.mediate(actor=self.local_authority(complaint.respondent), level="authority")
        elif complaint.status == "mediation failed":
            complaint.mediate(actor=self.mediator, level="authority")
        elif complaint.status == "resolved":
            complaint.close(
                feedback=rng.choice(("满意", "基本满意", "不满意")), satisfied=rng.random() < 0.7
            )
        else:
            return
        self.add(complaint)

    def promotion(self) -> None:
        provider = self.rng.choice(self.providers)
        if provider in self.barred:
            return
        day = self.clock.day
        promotion = Promotion.announce(
            stream=self.next_id("promotion"),
            actor=provider,
            items=self.items[provider][:1],
            terms="首单九折",
            starts_on=day.isoformat(),
            ends_on=(day + timedelta(days=30)).isoformat(),
        )
        self.add(promotion)
        self.promotions.append(promotion)

    def reports(self, day: date) -> None:
        period = f"{day.year}-Q{(day.month - 1) // 3 + 1}"
        for window in self.windows if self.hunan else [self.cloud]:
            self.add(
                StatisticsReport.report(platform=window, period=period, figures=_figures(self.rng))
            )

    # -- Anhui's own business -------------------------------------------------------------

    def anhui_day(self, day: date) -> None:
        rng = self.rng
        for _ in range(rng.randint(1, 4)):
            holder = rng.choice(self.members)
            voucher = Voucher.issue(
                stream=self.next_id("voucher"),
                actor=self.hrss,
                holder=holder,
                face_value_fen=rng.choice((50_000, 100_000, 200_000)),
                expires_on=(day + timedelta(days=rng.choice((60, 120, 180)))).isoformat(),
                categories=rng.sample(CATEGORIES, k=4),
            )
            self.add(voucher)
            self.vouchers.append(voucher)
        if self.vouchers and rng.random() < 0.8:
            voucher = rng.choice(self.vouchers[-40:])
            self.redeem(voucher, day)
        if rng.random() < 0.1:
            admin = rng.choice(self.admins)
            self.add(
                AdminAction.record(
                    stream=self.next_id("admin-action"),
                    actor=admin,
                    authorisation=self.authorisations[admin],
                    action=rng.choice(("政策发布", "业务审核")),
                    subject=rng.choice(self.providers),
                    detail="审核通过",
                )
            )
        if rng.random() < 0.05:
            department = rng.choice(self.departments)
            purchase = GovernmentPurchase.request(
                stream=self.next_id("purchase"),
                department=department,
                purpose="为返乡创业人员购买创业培训",
                budget_fen=rng.choice((2_000_000, 5_000_000)),
            )
            n = self.counters["purchase"]
            # AH 18: with the consent of both 省财政厅 and 省人社厅
            purchase.approve(actor=self.hrss, approval_ref=f"皖人社函〔{day.year}〕{n}号")  # noqa: RUF001
            purchase.approve(actor=self.finance, approval_ref=f"皖财社〔{day.year}〕{n}号")  # noqa: RUF001
            self.add(purchase)
            self.flush()
            provider = rng.choice(self.providers)
            item = self.items[provider][0]
            places = min(10, purchase.budget_fen // max(1, self.item_fee[item]))
            if provider not in self.barred and places > 0:
                order = Order.create(
                    stream=self.next_id("order"),
                    buyer=department,
                    item=item,
                    provider=provider,
                    channel="online",
                    price_fen=self.item_fee[item] * places,  # training places for the group
                    purchase=purchase.id,
                )
                order.initiate_payment(method="财政支付")
                self.counters["payment"] += 1
                order.settle(actor=self.settler, payment_ref=f"GOV{self.counters['payment']:06d}")
                order.complete()
                purchase.place(order)
                self.add(purchase, order)
        expired = [
            v for v in self.vouchers if not v.expired and date.fromisoformat(v.expires_on) < day
        ]
        for voucher in expired[:5]:
            voucher.expire(actor=self.hrss)
            self.add(voucher)

    def redeem(self, voucher: Voucher, day: date, *, above_price: bool = False) -> None:
        if voucher.expired or date.fromisoformat(voucher.expires_on) < day:
            return
        if voucher.redeemed_fen >= voucher.face_value_fen or voucher in self.pending:
            return
        choices = (
            [
                (p, i)
                for p in self.providers
                if p not in self.barred
                for i in self.items[p]
                if self.item_category[i] in voucher.categories
            ]
            if above_price
            else []
        )
        provider_item = self.rng.choice(choices) if choices else None
        if above_price and provider_item is not None:
            provider, item = provider_item
            order = Order.create(
                stream=self.next_id("order"),
                buyer=voucher.holder,
                item=item,
                provider=provider,
                channel="online",
                price_fen=self.item_fee[item] * 2,
            )
            self.use_voucher(
                voucher,
                order=order,
                amount_fen=min(voucher.face_value_fen - voucher.redeemed_fen, order.price_fen),
            )
            if order.price_fen > order.vouchers_fen:
                order.initiate_payment(method="alipay")
                self.counters["payment"] += 1
                order.settle(actor=self.settler, payment_ref=f"PAY{self.counters['payment']:06d}")
            order.complete()
            self.add(voucher, order)
            self.result.misconduct["voucher order priced above the item's normal price"] += 1
            return
        eligible = [
            (p, i)
            for p in self.rng.sample(self.providers, k=min(20, len(self.providers)))
            if p not in self.barred
            for i in self.items[p]
        ]
        for provider, item in eligible:
            if self.item_category[item] in voucher.categories:
                order = Order.create(
                    stream=self.next_id("order"),
                    buyer=voucher.holder,
                    item=item,
                    provider=provider,
                    channel="online",
                    price_fen=self.item_fee[item],
                )
                self.use_voucher(
                    voucher,
                    order=order,
                    amount_fen=min(voucher.face_value_fen - voucher.redeemed_fen, order.price_fen),
                )
                if order.price_fen > order.vouchers_fen:
                    order.initiate_payment(method="wechat")
                    self.counters["payment"] += 1
                    order.settle(
                        actor=self.settler, payment_ref=f"PAY{self.counters['payment']:06d}"
                    )
                order.complete()
                self.add(voucher, order)
                return

    # -- misconduct and supervision --------------------------------------------------------------

    def misconduct(self, day: date) -> None:
        """Plant misconduct and act on it. Late records and shared evidence files are
        counted from the log (LogTally); what is planted here is counted once written."""
        rng = self.rng
        progress = self.entries / self.target
        if self.app.policy.parameters.service_record_deadline is not None and rng.random() < 0.3:
            self.service_record(day, late=True)
        shared = self.counters["shared-evidence"]
        if progress > 0.2 and shared < 6 and not self.counters["recovery"] and rng.random() < 0.5:
            record = self.service_record(day, digest=self.reused, provider=self.providers[2])
            if record is not None:
                self.counters["shared-evidence"] += 1
        if (
            self.hunan
            and not self.counters["recovery"]
            and (shared >= 6 or (shared >= 3 and progress > 0.5))
        ):
            self.recover()
        minimums = self.app.policy.parameters.members_per_county_window
        if (
            minimums is not None
            and not self.burst_done
            and day.month % 3 == 0
            and 18 <= day.day < 25  # the quarter's statistics are reported from the 25th
        ):
            self.burst_done = True
            self.burst(
                self.county_windows[0],
                "registrations in a burst at a county window in the week before its "
                f"quarter's assessment ({', '.join(minimums.articles)} member minimums)",
            )
        if progress > 0.5 and not self.blacklist_done:
            self.blacklist_done = True
            self.blacklist()
        cancels = "ProviderQualificationCancelled" in self.app.policy.permissions
        if cancels and self.authority_regions and progress > 0.65 and not self.counters["hn24"]:
            self.counters["hn24"] += 1
            self.disqualify()
        if progress > 0.55 and self.promotions and not self.counters["promotion-change"]:
            self.counters["promotion-change"] += 1
            self.flush()
            promotion: Promotion = self.app.repository.get(self.promotions[0].id)
            if not promotion.ended:
                promotion.change(
                    actor=promotion.organiser, changes={"terms": "首单八折"}, force_majeure=None
                )
                self.attempt("a promotion changed without force majeure", promotion)
                promotion = self.app.repository.get(promotion.id)
                promotion.change(
                    actor=promotion.organiser,
                    changes={"ends_on": (promotion.ends_on + timedelta(days=14)).isoformat()},
                    force_majeure={
                        "description": "暴雨灾害导致线下活动暂停",
                        "evidence_sha256": self.digest(),
                    },
                )
                self.add(promotion)
        if (
            not self.hunan
            and progress > 0.6
            and not self.counters["voucher-misconduct"]
            and self.vouchers
        ):
            self.counters["voucher-misconduct"] += 1
            self.flush()
            voucher = self.vouchers[-1]
            before = set(voucher.redemptions)
            self.redeem(voucher, day, above_price=True)
            self.flush()
            for order in set(voucher.redemptions) - before:
                self.blacklist_overpricing(order)
        if self.hunan and progress > 0.8 and not self.notice_done:
            self.notice_done = True
            self.termination(day)

    def blacklist(self) -> None:
        provider = max(self.providers[3:], key=lambda p: (self.complaints_against[p], p))
        self.flush()
        paying = self.order_being_paid(provider)
        state: Provider = self.app.repository.get(provider)
        state.blacklist(actor=self.blacklister, reason="多次投诉查实、虚假宣传")
        self.add(state)
        self.flush()
        self.barred.add(provider)
        attempt = self.sketch_item(provider, "新服务", fee_fen=30_000)
        self.attempt("a blacklisted provider publishing", attempt)
        self.release_frozen(paying)

    def disqualify(self) -> None:
        """HN 24: the authority of the locality where a provider much complained against
        was onboarded cancels its qualification; an authority of another locality cannot."""
        provider = max(
            (p for p in self.providers[3:] if p not in self.barred),
            key=lambda p: (self.complaints_against[p], p),
        )
        self.flush()
        reason = "服务信誉差、损害消费者权益,取消平台网络服务资格"
        stray = self.outsider(provider)
        if stray is not None:
            elsewhere: Provider = self.app.repository.get(provider)
            elsewhere.cancel_qualification(actor=stray, reason=reason)
            self.attempt(
                "a qualification cancelled by the authority of another locality", elsewhere
            )
        state: Provider = self.app.repository.get(provider)
        state.cancel_qualification(actor=self.local_authority(provider), reason=reason)
        self.add(state)
        self.flush()
        self.barred.add(provider)

    def order_being_paid(self, provider: str) -> str:
        """An online order of ``provider`` whose payment was initiated, not yet settled."""
        item = self.items[provider][0]
        order = Order.create(
            stream=self.next_id("order"),
            buyer=self.rng.choice(self.members),
            item=item,
            provider=provider,
            channel="online",
            price_fen=self.item_fee[item],
        )
        order.initiate_payment(method="wechat")
        self.add(order)
        self.flush()
        return order.id

    def release_frozen(self, order_id: str) -> None:
        """Rule 4 (AH 28; HN 24): the payment to the seller blacklisted meanwhile is frozen,
        and the operator that settles payments cancels the order, releasing the buyer."""
        frozen: Order = self.app.repository.get(order_id)
        frozen.settle(actor=self.settler, payment_ref=f"PAY-{order_id}")
        self.attempt("settling a payment to a blacklisted provider", frozen)
        frozen = self.app.repository.get(order_id)
        frozen.cancel(
            actor=self.settler, reason="服务商被列入黑名单,付款冻结,订单取消并退回已付款项"
        )
        self.add(frozen)

    def recover(self) -> None:
        """HN 25 against the window that entered the records sharing one evidence file:
        the subsidy for the year is ordered back and its demonstration title revoked."""
        self.counters["recovery"] += 1
        self.flush()  # the planted records are written before they are acted on
        window = self.home_of[self.providers[2]]
        basis = (
            f"编造服务记录:{self.counters['shared-evidence']}条服务记录使用同一证据文件"
            f"(SHA-256 {self.reused[:16]}…)"
        )
        self.add(
            FundRecovery.order(
                stream=self.next_id("recovery"),
                actor=self.authority,
                subject=window,
                amount_fen=300_000,
                period=f"{self.clock.day.year}",
                basis=f"{basis},追回业务补助(HN 25)",
            ),
            AwardRevocation.revoke(
                stream=self.next_id("award-revocation"),
                actor=self.authority,
                subject=window,
                award="省级示范窗口平台",
                basis=f"{basis},撤销示范称号(HN 25)",
            ),
        )

    def blacklist_overpricing(self, order_id: str) -> None:
        """AH 28: the provider that charged a voucher holder above its item's normal price."""
        order: Order = self.app.repository.get(order_id)
        if order.price_fen <= self.item_fee[order.item] or order.provider in self.barred:
            return
        provider: Provider = self.app.repository.get(order.provider)
        provider.blacklist(
            actor=self.blacklister,
            reason=(
                f"创业券订单{order_id}价格{order.price_fen}分,"
                f"高于服务项目公示价格{self.item_fee[order.item]}分"
            ),
        )
        self.add(provider)
        self.flush()
        self.barred.add(order.provider)

    def burst(self, home: str, label: str) -> None:
        """Enterprise members registered at ``home`` in one go, none of which ever acts."""
        self.flush()
        registrar, count = home if self.hunan else self.operator, max(30, len(self.members) // 20)
        for _ in range(count):
            self.enterprise(registrar, home, self.region_of[home], key=False)
        self.flush()  # written, or the demo stops here
        self.result.misconduct[label] += count

    def termination(self, day: date) -> None:
        window = self.county_windows[-1]
        self.flush()
        platform: Platform = self.app.repository.get(window)
        effective = day + timedelta(days=100)
        platform.give_notice(effective_on=effective, announcement_sha256=self.digest())
        self.add(platform)
        self.flush()
        platform = self.app.repository.get(window)
        for party in self.app.parties_of(window):
            platform.notify(party=party, channel=self.rng.choice(("站内信", "短信", "电子邮件")))
        self.add(platform)
        self.flush()
        platform = self.app.repository.get(window)
        platform.terminate(reason="运营机构调整")
        self.attempt("terminating before the notice period ends", platform)

    def finale(self) -> None:
        self.flush()
        record, served = self.records[-1]
        outsider = next(m for m in self.members if m not in served)
        state: ServiceRecord = self.app.repository.get(record)
        state.evaluate(enterprise=outsider, score=5, comment="好评")
        self.attempt("an evaluation by someone the service did not serve", state)
        if not self.hunan:
            export = DataExport.export(
                stream=self.next_id("export"),
                actor=self.operator,
                authorisation=None,
                recipient="某数据公司",
                scope=["交易统计"],
                records=1000,
                sha256=self.digest(),
            )
            self.attempt("an export without a data-sharing authorisation", export)
            self.add(
                DataExport.export(
                    stream=self.next_id("export"),
                    actor=self.operator,
                    authorisation=self.sharing,
                    recipient="安徽省就业创业研究院",
                    scope=["交易统计"],
                    records=self.counters["order"],
                    sha256=self.digest(),
                )
            )
            voucher = Voucher.issue(
                stream=self.next_id("voucher"),
                actor=self.operator,
                holder=self.members[0],
                face_value_fen=100_000,
                expires_on=(self.clock.day + timedelta(days=90)).isoformat(),
                categories=list(CATEGORIES),
            )
            self.attempt("a voucher issued by the operator", voucher)
            # No window assessment here (HN 13, 14 are Hunan's): the operator's numbers are
            # judged in the supervisor's annual performance evaluation (AH 7).
            evaluation = self.app.policy.permissions["AnnualEvaluationRecorded"]
            self.burst(
                self.cloud,
                "registrations in a burst just before the supervisor's annual evaluation of "
                f"the operator ({', '.join(evaluation.articles)})",
            )
            self.add(
                AnnualEvaluation.record(
                    actor=self.supervisor,
                    subject=self.operator,
                    year=self.clock.day.year,
                    grade="良好",
                    sha256=self.digest(),
                )
            )


def run_demo(
    db: Any,
    origin: str,
    *,
    policy: str,
    keys: Keystore | MemorySigners,
    vault: DisclosureVault,
    events: int = 15_000,
    seed: int = 1,
    progress: Progress | None = None,
) -> DemoResult:
    """Build one demonstration ledger of at least ``events`` entries under ``policy``."""
    rng = random.Random(f"{seed}/{policy}")  # noqa: S311 - synthetic data, not secrets
    clock = SimClock(rng)
    app = LedgerApplication(db, origin, signers=keys, clock=clock.now)
    root = LocalSigner.from_seed(rng.randbytes(32))
    log_signer = LocalSigner.from_seed(rng.randbytes(32))
    keys.add("root", root)
    keys.add(log_actor(origin), log_signer)
    with event_clock(clock.tick):
        app.open_ledger(
            policy=policy, root_actor="root", root_signers=[root], log_signer=log_signer
        )
    result = DemoResult(origin=origin, policy=policy)
    province = DemoProvince(app, keys, vault, rng, clock, result, events, progress)
    province.build()
    app.publish()
    replay = RuleReplay()  # process compliance, in the same pass over the log
    tally = LogTally(app.policy)
    for index, row in enumerate(db.iter_log(origin)):
        result.by_type[row.topic] += 1
        env = replay.add(index, row.state)
        tally.add(env)
        result.last = env.time
        result.first = result.first or result.last
    replay.finish()
    tally.finish()
    result.misconduct.update(tally.misconduct)
    result.supervision.update(tally.supervision)
    result.entries = replay.entries
    result.actors = province.roles
    result.compliance_findings = len(replay.findings)
    return result
