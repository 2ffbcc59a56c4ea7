"""A small province on each policy, built through the real commands, for domain tests."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.app import LedgerApplication
from ledger.compliance import check_compliance
from ledger.core.crypto import LocalSigner
from ledger.core.envelope import Entry, Envelope, format_time
from ledger.core.errors import LedgerError
from ledger.core.sign import seal
from ledger.disclosures import DisclosureVault
from ledger.domain.errors import RuleViolationError
from ledger.domain.registration import with_check_character
from ledger.events import event_clock
from ledger.keystore import MemorySigners
from ledger.province import Province
from ledger.storage import Database

WORLD_START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # World.now when a world opens
HUNAN = "hunan-sme-2015"
ANHUI = "anhui-startup-2017"
DOC = [{"type": "营业执照", "sha256": "ab" * 32}]
ITEM = {
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


@dataclass
class World:
    db: Database
    app: LedgerApplication
    keys: MemorySigners
    province: Province
    policy: str
    now: list[datetime] = field(default_factory=lambda: [WORLD_START])

    @property
    def entries(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def rejected(
        self, fn: Callable[[], Any], error: type[LedgerError] = RuleViolationError
    ) -> LedgerError:
        """Run ``fn``; it must raise ``error`` and leave the log as it was."""
        before = self.entries
        with pytest.raises(error) as caught:
            fn()
        assert self.entries == before, "a refused command wrote to the log"
        return caught.value

    def violates(self, rule: int, fn: Callable[[], Any]) -> RuleViolationError:
        """``fn`` must break hard rule ``rule`` (with the pack's articles) and write nothing."""
        error = self.rejected(fn)
        assert isinstance(error, RuleViolationError)
        assert error.rule == rule, str(error)
        hard = self.app.policy.rule(rule)
        assert hard is not None, f"rule {rule} does not apply under {self.policy}"
        assert error.article == ("; ".join(hard.articles) or "ledger"), str(error)
        return error


def open_world(db: Database, policy: str, origin: str | None = None) -> World:
    """An open ledger under ``policy`` with its authorities, platforms, one admitted
    provider with one commercial and one free item, and verified members; its entries
    timed by the world's clock, so the day its rules see is the day they record, whatever
    the wall clock says (Asia/Shanghai's day turns at 16:00 UTC)."""
    with event_clock(lambda: WORLD_START):
        return _populated(db, policy, origin)


def _populated(db: Database, policy: str, origin: str | None) -> World:
    keys = MemorySigners()
    root = LocalSigner.generate()
    keys.add("root", root)
    world_now = [WORLD_START]
    app = LedgerApplication(
        db, origin or f"ledger.example.org/{policy}", signers=keys, clock=lambda: world_now[0]
    )
    app.open_ledger(
        policy=policy, root_actor="root", root_signers=[root], log_signer=LocalSigner.generate()
    )
    p = Province(app, keys, vault=DisclosureVault(db, app.origin, os.urandom(32)))
    world = World(db, app, keys, p, policy, world_now)
    if policy == HUNAN:
        # authorities act by locality (HN 19(4), 24), each in its region (GB/T 2260)
        p.organisation(
            "org/province", "湖南省经济和信息化委员会", ["provincial_authority"], region="430000"
        )
        p.organisation("org/changsha", "长沙市经济和信息化局", ["city_authority"], region="430100")
        p.organisation("org/zhuzhou", "株洲市工业和信息化局", ["city_authority"], region="430200")
        p.platform(
            "platform/hub",
            name="省枢纽服务平台",
            level="hub",
            parent=None,
            region="430000",
            certifier="org/province",
            certificate="HN-HUB-1",
        )
        p.platform(
            "platform/changsha",
            name="长沙市综合窗口",
            level="city",
            parent="platform/hub",
            region="430100",
            certifier="org/province",
            recommender="org/changsha",
            certificate="HN-WIN-1",
        )
        p.agreement(
            "agreement/providers",
            by="platform/hub",
            title="服务商入驻协议",
            parties=["provider"],
            sha256="cd" * 32,
        )
        reviewer, home, free_function = "platform/hub", "platform/changsha", "联络员服务"
    else:
        p.organisation(
            "org/hrss", "安徽省人力资源和社会保障厅", ["provincial_hr_department"], region="340000"
        )
        p.organisation("org/operator", "云平台运营商", ["cloud_operator"])
        p.organisation("org/bureau", "安徽省劳动就业服务局", ["government_department"])
        p.organisation("org/head", "就业局负责人", ["department_head"], parent="org/bureau")
        p.organisation("org/admin", "政务服务管理员", ["government_admin"], parent="org/bureau")
        p.organisation("org/county-hr", "合肥市人社局", ["government_department"], region="340100")
        p.organisation("org/supervisor", "第三方监理单位", ["supervisor"])
        p.platform(
            "platform/cloud",
            name="安徽省创业服务云平台",
            level="cloud",
            parent=None,
            region="340000",
            certifier="org/hrss",
            certificate="AH-CLOUD-1",
        )
        reviewer, home, free_function = "org/operator", "platform/cloud", "政策服务"
    p.provider(
        "provider/p1",
        name="长沙智达管理咨询有限公司",
        credit_code="91430100MA4L00000F",
        categories=["管理咨询"],
        reviewer=reviewer,
        platform=home,
        documents=DOC,
        valid_until="2028-12-31",
    )
    p.item("item/i1", provider="provider/p1", **ITEM)
    p.item(
        "item/free",
        provider="provider/p1",
        **{**ITEM, "title": "政策解读", "function": free_function, "charge": "free", "fee_fen": 0},
    )
    by = "platform/changsha" if policy == HUNAN else "org/operator"
    p.enterprise(
        "member/e1",
        by=by,
        platform=home,
        name="浏阳新材料有限公司",
        credit_code="91430181MA4L00000R",
        contact={"name": "王伟", "phone": "13800000001"},
    )
    p.enterprise(
        "member/e2",
        by=by,
        platform=home,
        name="宁乡电子信息有限公司",
        credit_code="91430124MA4L000008",
        contact={"name": "李娜", "phone": "13800000002"},
    )
    if policy == ANHUI:
        p.person(
            "member/u1",
            by=by,
            platform=home,
            identity={"name": "张敏", "id_card": "340104199001011234"},
            birth_date=date(1990, 1, 1),
        )
    return world


@contextmanager
def at(world: World, moment: datetime) -> Iterator[None]:
    """Inside the block it is ``moment``: for the app's clock and for new events' times."""
    before, world.now[0] = world.now[0], moment
    try:
        with event_clock(lambda: moment):
            yield
    finally:
        world.now[0] = before


def assert_complies(world: World) -> None:
    """Replaying the whole log against every hard rule finds nothing (DOMAIN.md §5.2)."""
    report = check_compliance(world.app.entries())
    assert report.ok, [str(f) for f in report.findings]
    assert report.entries == world.entries


def client_entry(
    world: World,
    actor: str,
    stream: str,
    type_: str,
    body: dict[str, Any],
    *,
    after: Entry | None = None,
) -> Entry:
    """The next entry of ``stream`` as a client builds it: signed with ``actor``'s own key,
    timed by the app's clock, chained to the stream's head, or to ``after`` (an entry of
    the same stream not yet stored, submitted before it in one batch)."""
    prev: str | None
    if after is not None:
        version, prev = after.envelope.version + 1, after.hash_hex
    else:
        rows = world.app.recorder.select_events(stream, desc=True, limit=1)
        version = rows[0].originator_version + 1 if rows else 1
        prev = hashlib.sha256(rows[0].state).hexdigest() if rows else None
    signer = world.keys.signer_for(actor, world.app.refresh_keys())
    assert signer is not None, f"{actor} has no key"
    envelope = Envelope(
        ledger=world.app.origin,
        stream=stream,
        version=version,
        prev=prev,
        type=type_,
        time=format_time(world.now[0]),
        actor=actor,
        key=signer.key_id,
        body=body,
    )
    return seal(envelope, signer)


def county_window(world: World) -> str:
    """浏阳 (430181): a county window under the Changsha one, its county authority, and a
    provider it onboarded."""
    p = world.province
    p.organisation("org/liuyang", "浏阳市工业和信息化局", ["city_authority"], region="430181")
    p.platform(
        "platform/liuyang",
        name="浏阳市综合窗口",
        level="county",
        parent="platform/changsha",
        region="430181",
        certifier="org/province",
        recommender="org/changsha",
        certificate="HN-WIN-3",
    )
    p.provider(
        "provider/p3",
        name="浏阳花炮检测有限公司",
        credit_code=with_check_character("91430181MA4L00009"),
        categories=["检验检测"],
        reviewer="platform/liuyang",
        platform="platform/liuyang",
        documents=DOC,
        valid_until="2028-12-31",
    )
    return "provider/p3"


def network_provider(world: World) -> str:
    """provider/net, onboarded by the hub: a provider of the whole network, lying in the
    whole province (430000), whose services every window may organise."""
    world.province.provider(
        "provider/net",
        name="湖南省知识产权服务中心",
        credit_code="91430000MA4L00001D",
        categories=["管理咨询"],
        reviewer="platform/hub",
        platform="platform/hub",
        documents=DOC,
        valid_until="2028-12-31",
    )
    return "provider/net"
