"""The province a benchmark writes service records into, onboarded through the real
commands of the Hunan pack (untimed): what a ``ServiceRecorded`` entry needs before the
rules accept it.

- the provincial and city authorities (with their administrative division codes);
- a certified hub and ``windows`` certified city window platforms under it
  (``platform/0`` ...), each recommended by the city;
- the hub's user agreement for providers (HN 8(3)), which every provider accepts;
- ``providers`` admitted network providers (``provider/0`` ...), reviewed with documents
  and valid for two years, each with one open service item (``item/0`` ...): free or
  commercial by turns, in the categories of the Hunan network;
- ``members`` real-name verified enterprise members (``member/0`` ...), each with its
  own key, so that it can sign its evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ledger.app import LedgerApplication
from ledger.calendar import local_date
from ledger.domain.registration import with_check_character
from ledger.keystore import MemorySigners
from ledger.province import Province

CATEGORIES = ("融资对接", "管理咨询", "人才培训", "法律服务", "技术创新", "市场开拓", "创业辅导")
CITY = "430100"  # 长沙市 (GB/T 2260)


@dataclass(frozen=True)
class Item:
    """An open item of a provider, with what a record of it must repeat."""

    stream: str
    provider: str
    charge: str
    fee_fen: int


@dataclass(frozen=True)
class BenchWorld:
    """Who is in the province: known before it is onboarded, so that a workload can be
    made for it first."""

    windows: tuple[str, ...]
    items: tuple[Item, ...]
    members: tuple[str, ...]

    @classmethod
    def plan(cls, *, windows: int, providers: int, members: int) -> BenchWorld:
        items = tuple(  # free and commercial by turns
            Item(f"item/{i}", f"provider/{i}", "free", 0)
            if i % 2
            else Item(f"item/{i}", f"provider/{i}", "commercial", 50_000 + 10_000 * i)
            for i in range(providers)
        )
        return cls(
            tuple(f"platform/{i}" for i in range(windows)),
            items,
            tuple(f"member/{i}" for i in range(members)),
        )


def _credit_code(prefix: str, n: int) -> str:
    """An 18-character unified social credit code, unique by ``prefix`` and ``n``."""
    return with_check_character(f"{prefix}{n:05d}")


def onboard(app: LedgerApplication, signers: MemorySigners, world: BenchWorld) -> None:
    """Onboard ``world`` on the freshly opened Hunan ledger ``app``; the keys of the actors
    it enrols go into ``signers``."""
    if not world.windows:
        raise ValueError("a bench world has at least one window platform")
    province = Province(app, signers)
    province.organisation(
        "org/province", "省中小企业主管部门", ["provincial_authority"], region="430000"
    )
    province.organisation("org/city", "市中小企业主管部门", ["city_authority"], region=CITY)
    province.platform(
        "platform/hub",
        name="省枢纽服务平台",
        level="hub",
        parent=None,
        region="430000",
        certifier="org/province",
        certificate="HUB-1",
    )
    for i, window in enumerate(world.windows):
        province.platform(
            window,
            name=f"窗口服务平台 {i}",
            level="city",
            parent="platform/hub",
            region=CITY,
            certifier="org/province",
            recommender="org/city",
            certificate=f"WIN-{i}",
        )
    province.agreement(
        "agreement/providers",
        by="platform/hub",
        title="服务商入驻协议",
        parties=["provider"],
        sha256="cd" * 32,
    )
    valid_until = (local_date(app.clock()) + timedelta(days=730)).isoformat()
    for i, item in enumerate(world.items):
        category = CATEGORIES[i % len(CATEGORIES)]
        province.provider(
            item.provider,
            name=f"{category}服务有限公司 {i}",
            credit_code=_credit_code("91430100MA4L", i),
            categories=[category],
            reviewer="platform/hub",
            platform="platform/hub",  # a network provider: every window records its services
            documents=[{"type": "营业执照", "sha256": f"{i:064x}"}],
            valid_until=valid_until,
        )
        province.item(
            item.stream,
            provider=item.provider,
            title=f"{category}服务",
            category=category,
            function="专业服务",
            charge=item.charge,
            fee_fen=item.fee_fen,
            content="受理、诊断与方案交付",
            standard="行业标准",
            process="受理-诊断-交付",
            time_limit_days=10,
        )
    for i, member in enumerate(world.members):
        window = world.windows[i % len(world.windows)]
        province.enterprise(
            member,
            by=window,
            platform=window,
            name=f"湖南企业有限公司 {i}",
            credit_code=_credit_code("91430181MA4M", i),
            contact={"name": f"联系人{i}", "phone": f"138{i:08d}"},
        )


def today() -> str:
    """Today in the province (Asia/Shanghai), the latest basis date evidence can have."""
    return local_date(datetime.now(UTC)).isoformat()
