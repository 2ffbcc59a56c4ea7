"""Helpers shared by tests: open a ledger, and tamper with storage as the database owner."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import psycopg

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner, Signer
from ledger.domain.registration import with_check_character
from ledger.domain.services import ServiceRecord
from ledger.events import LedgerEvent
from ledger.keystore import MemorySigners
from ledger.policy import PolicyPack, load_pack
from ledger.province import Province
from ledger.storage import Database

ORIGIN = "ledger.example.org/test"
POLICY = "hunan-sme-2015"

# Who takes part in every test ledger (DOMAIN.md §1 under the Hunan pack): the provincial
# and two city authorities, the hub and two certified window platforms that record
# services, one admitted provider with one published item, and enterprise members.
PROVINCIAL_AUTHORITY = "org/province"
CITY_AUTHORITIES = {"platform/changsha": "org/changsha", "platform/zhuzhou": "org/zhuzhou"}
HUB = "platform/hub"
PROVIDER_AGREEMENT = "agreement/providers"  # the hub's user agreement with providers (HN 8(3))
CHANGSHA = "platform/changsha"
ZHUZHOU = "platform/zhuzhou"
PROVIDER = "provider/001"
ITEM = "item/0001"
MEMBERS = ("member/0001", "member/0002", "member/0003")
MEMBER = MEMBERS[0]  # the enterprise ``service_record`` serves
BASIS_DATE = "2026-11-20"

WINDOWS = {
    CHANGSHA: ("长沙市综合窗口服务平台", "430100", "HN-WIN-0001"),
    ZHUZHOU: ("株洲市综合窗口服务平台", "430200", "HN-WIN-0002"),
}
ITEM_FIELDS: dict[str, Any] = {
    "title": "企业管理咨询",
    "category": "管理咨询",
    "function": "专业服务",
    "charge": "commercial",
    "fee_fen": 120_000,
    "content": "诊断与方案",
    "standard": "行业标准",
    "process": "受理-诊断-交付",
    "time_limit_days": 10,
}

#: Entries ``open_ledger`` writes: LedgerOpened; a key and OrganisationRegistered per
#: authority (3); the hub's key, application and certificate; per window (2) a key,
#: application, recommendation and certificate; the hub's agreement with providers; the
#: provider's key, application, verification, review, identity claim, acceptance of the
#: agreement and admission; the item; per member (3) its
#: registration, verification, key and identity claim.
OPENING_ENTRIES = 1 + 3 * 2 + 3 + 2 * 4 + 1 + 7 + 1 + 3 * 4


@cache
def policy() -> PolicyPack:
    """The test ledgers' policy pack (its deadlines go into every service record)."""
    return load_pack(POLICY)


class Signers(MemorySigners):
    """Custodial keys in memory that also remember each actor's newest key (``enrolled``),
    so tests can sign entries as a client would, or forge them."""

    def __init__(self) -> None:
        super().__init__()
        self.enrolled: dict[str, LocalSigner] = {}

    def add(self, actor: str, signer: Signer) -> Signer:
        if isinstance(signer, LocalSigner):
            self.enrolled[actor] = signer
        return super().add(actor, signer)


@dataclass
class OpenLedger:
    db: Database
    app: LedgerApplication
    signers: MemorySigners
    root: LocalSigner
    log: LocalSigner
    actors: dict[str, LocalSigner]  # every key enrolled through this ledger, by actor
    province: Province = field(init=False)

    def __post_init__(self) -> None:
        self.province = Province(self.app, self.signers)

    def enrol(self, actor: str) -> LocalSigner:
        signer = LocalSigner.generate()
        self.signers.add(actor, signer)
        self.app.register_key(by="root", subject=actor, public_key=signer.public_key)
        self.actors[actor] = signer
        return signer

    def record_service(self, n: int, actor: str = CHANGSHA) -> ServiceRecord:
        record = service_record(n, actor)
        self.app.save(record)
        return record


def service_record(
    n: int, actor: str = CHANGSHA, enterprises: list[str] | None = None, stream: str | None = None
) -> ServiceRecord:
    """Service record number ``n`` by window platform ``actor``: the provider's item
    delivered to ``MEMBER`` (or to ``enterprises``), one contract as evidence, whose
    digest is distinct per ``n``."""
    return ServiceRecord.record(
        policy=policy(),
        stream=stream or f"service/{n:06d}",
        actor=actor,
        provider=PROVIDER,
        platform=actor,
        item=ITEM,
        enterprises=list(enterprises or [MEMBER]),
        channel="offline",
        charge="commercial",
        fee_fen=120_000,
        evidence=[
            {
                "type": "合同",
                "sha256": f"{n:064x}",
                "basis_date": BASIS_DATE,
                "media_type": "application/pdf",
                "size": 1234,
            }
        ],
    )


def service_body(
    n: int, actor: str = CHANGSHA, enterprises: list[str] | None = None
) -> dict[str, Any]:
    """The body of the ``ServiceRecorded`` that ``service_record`` decides, for entries a
    client signs itself (or a forger builds)."""
    (event,) = service_record(n, actor, enterprises).collect_events()
    assert isinstance(event, LedgerEvent)
    return event.body()


def open_ledger(
    db: Database,
    origin: str = ORIGIN,
    *,
    root: LocalSigner | None = None,
    log: LocalSigner | None = None,
) -> OpenLedger:
    """An open ledger whose window platforms can record services: everything a
    ``ServiceRecorded`` needs is onboarded through the real commands (``OPENING_ENTRIES``)."""
    signers = Signers()
    root, log = root or LocalSigner.generate(), log or LocalSigner.generate()
    signers.add("root", root)
    app = LedgerApplication(db, origin, signers=signers, clock=lambda: datetime.now(UTC))
    app.open_ledger(policy=POLICY, root_actor="root", root_signers=[root], log_signer=log)
    opened = OpenLedger(db, app, signers, root, log, signers.enrolled)
    p = opened.province
    p.organisation(
        PROVINCIAL_AUTHORITY, "湖南省经济和信息化委员会", ["provincial_authority"], region="430000"
    )
    for window, authority, name in (
        (CHANGSHA, CITY_AUTHORITIES[CHANGSHA], "长沙市经济和信息化局"),
        (ZHUZHOU, CITY_AUTHORITIES[ZHUZHOU], "株洲市工业和信息化局"),
    ):
        p.organisation(authority, name, ["city_authority"], region=WINDOWS[window][1])
    p.platform(
        HUB,
        name="湖南省中小企业公共服务平台",
        level="hub",
        parent=None,
        region="430000",
        certifier=PROVINCIAL_AUTHORITY,
        certificate="HN-HUB-0001",
    )
    for window in WINDOWS:
        add_window(opened, window)
    p.agreement(
        PROVIDER_AGREEMENT,
        by=HUB,
        title="湖南省中小企业公共服务平台网络服务商入驻协议",
        parties=["provider"],
        sha256="cd" * 32,
    )
    p.provider(
        PROVIDER,
        name="长沙智达管理咨询有限公司",
        credit_code="91430100MA4L00000F",
        categories=[ITEM_FIELDS["category"]],
        reviewer=HUB,
        platform=HUB,  # a provider of the whole network: every window may organise its services
        documents=[{"type": "营业执照", "sha256": "ab" * 32}],
        valid_until="2028-12-31",
    )
    p.item(ITEM, provider=PROVIDER, **ITEM_FIELDS)
    for i, member in enumerate(MEMBERS, start=1):
        p.enterprise(
            member,
            by=CHANGSHA,
            platform=CHANGSHA,
            name=f"浏阳新材料{i}号有限公司",
            credit_code=with_check_character(f"91430181MA4L{i:05d}"),
            contact={"name": "王伟", "phone": f"138000000{i:02d}"},
        )
    assert app.recorder.max_notification_id() == OPENING_ENTRIES
    return opened


def add_window(
    ledger: OpenLedger,
    stream: str,
    *,
    writer: LedgerApplication | None = None,
    own_key: bool = False,
) -> str:
    """Certify window platform ``stream``: applied, recommended by its city, certified.

    ``writer``: another application (sharing ``ledger.signers``) writes it, as another
    process would. ``own_key``: the platform keeps its key itself (it signs its own
    entries as a client), so ``ledger.signers`` holds no key for it.
    """
    name, region, certificate = WINDOWS.get(  # another window: in Changsha, which recommends it
        stream, (f"{stream} 综合窗口服务平台", WINDOWS[CHANGSHA][1], f"HN-{stream}")
    )
    recommender = CITY_AUTHORITIES.get(stream, CITY_AUTHORITIES[CHANGSHA])
    province: Province = ledger.province
    if own_key:
        keys = Signers()
        keys.add("root", ledger.root)
        for actor in (PROVINCIAL_AUTHORITY, recommender):
            keys.add(actor, ledger.actors[actor])
        writer = LedgerApplication(ledger.db, ledger.app.origin, signers=keys)
        province = Province(writer, keys)
    elif writer is not None:
        province = Province(writer, ledger.signers)
    province.platform(
        stream,
        name=name,
        level="city",
        parent=HUB,
        region=region,
        certifier=PROVINCIAL_AUTHORITY,
        recommender=recommender,
        certificate=certificate,
    )
    if own_key:
        ledger.actors[stream] = keys.enrolled[stream]
    return stream


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data


def run_cli(*argv: str | Path) -> CliResult:
    """Run the ``ledger`` command line in process and capture what it printed."""
    from api.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = main([str(a) for a in argv], out, err)
    return CliResult(code, out.getvalue(), err.getvalue())


def owner_sql(db: Database, statement: str, params: tuple[Any, ...] = ()) -> None:
    """Run SQL as the database owner with the append-only triggers out of the way."""
    if db.is_postgres:
        c = db.config
        with psycopg.connect(
            host=c.host,
            port=c.port,
            user=c.user,
            password=c.password,
            dbname=c.dbname,
            autocommit=False,
        ) as conn:
            conn.execute("SET session_replication_role = replica")  # triggers off
            conn.execute(f'SET search_path TO "{c.schema}"')
            conn.execute(statement.replace("?", "%s"), params)
            conn.commit()
        return
    import sqlite3

    with sqlite3.connect(db.config.path) as conn:
        triggers = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
        ).fetchall()
        for name, _ in triggers:
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(statement, params)
        for _, sql in triggers:
            conn.execute(sql)
        conn.commit()
