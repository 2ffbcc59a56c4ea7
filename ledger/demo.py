"""A first demonstration ledger: a small province's platforms, providers and services.

Opens a ledger, registers actors and their keys, records a few hundred realistic
entries (personal information only as commitments), then leaves verification
to the caller.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.core.pi import redact
from ledger.disclosures import DisclosureVault
from ledger.domain.registration import Enterprise, Platform, Provider
from ledger.domain.services import EVIDENCE_TYPES, ServiceRecord
from ledger.keystore import Keystore, MemorySigners, log_actor
from ledger.policy import available_packs
from ledger.storage import Database

POLICIES = tuple(available_packs())
CITIES = ("长沙", "株洲", "湘潭", "衡阳", "岳阳", "常德")
COUNTIES = ("浏阳", "宁乡", "醴陵", "韶山", "耒阳", "汨罗")
INDUSTRIES = ("工程机械", "轨道交通", "电子信息", "新材料")
ITEMS = ("融资对接", "管理咨询", "人才培训", "法律服务", "技术创新", "市场开拓", "创业辅导")
SURNAMES = ("王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴")
PI_PATHS = ("/contact/name", "/contact/phone", "/contact/id_card")
Progress = Callable[[int, int], None]


@dataclass
class DemoResult:
    origin: str
    entries: int = 0
    by_type: Counter[str] = field(default_factory=Counter)
    actors: Counter[str] = field(default_factory=Counter)
    disclosures: int = 0


class _Actors:
    """Actors and their keys: custodial in the keystore, or in memory."""

    def __init__(self, app: LedgerApplication, keys: Keystore | MemorySigners, root: str) -> None:
        self.app, self.keys, self.root = app, keys, root
        self.roles: Counter[str] = Counter()

    def enrol(self, actor: str, role: str) -> str:
        signer = LocalSigner.generate()
        self.keys.add(actor, signer)
        self.app.register_key(by=self.root, subject=actor, public_key=signer.public_key)
        if role:
            self.roles[role] += 1
        return actor


def _credit_code(rng: random.Random) -> str:
    return "9143" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(14))


def _evidence(rng: random.Random, basis: date) -> list[dict[str, Any]]:
    kinds = ["合同", *rng.sample(EVIDENCE_TYPES[2:], k=2)]
    return [
        {
            "type": kind,
            "sha256": hashlib.sha256(rng.randbytes(32)).hexdigest(),
            "basis_date": basis.isoformat(),
            "media_type": rng.choice(("application/pdf", "image/jpeg", "text/csv")),
            "size": rng.randint(20_000, 4_000_000),
        }
        for kind in kinds
    ]


def run_demo(
    db: Database,
    origin: str,
    *,
    policy: str,
    keys: Keystore | MemorySigners,
    vault: DisclosureVault,
    events: int = 400,
    seed: int = 1,
    progress: Progress | None = None,
) -> DemoResult:
    """Build one demonstration ledger of about ``events`` entries."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    app = LedgerApplication(db, origin, signers=keys)
    root = LocalSigner.generate()
    keys.add("root", root)
    log_signer = LocalSigner.generate()
    keys.add(log_actor(origin), log_signer)
    app.open_ledger(policy=policy, root_actor="root", root_signers=[root], log_signer=log_signer)
    actors = _Actors(app, keys, "root")
    result = DemoResult(origin=origin)

    hub = actors.enrol("platform/hub", "hub operator")
    authority = actors.enrol("authority/province", "provincial authority")
    hub_platform = Platform.apply_for(
        stream="platform/hub",
        actor=hub,
        name="省中小企业公共服务平台",
        level="hub",
        parent=None,
        region="湖南省",
    )
    hub_platform.certify(actor=authority, certificate="HN-HUB-0001")
    app.save(hub_platform)

    windows = []
    for i, city in enumerate(CITIES[:4]):
        city_authority = actors.enrol(f"authority/{city}", "city authority")
        actor = actors.enrol(f"platform/{city}", "window platform")
        window = Platform.apply_for(
            stream=f"platform/{city}",
            actor=actor,
            name=f"{city}市综合窗口",
            level="city",
            parent="platform/hub",
            region=city,
        )
        window.recommend(actor=city_authority)
        window.certify(actor=authority, certificate=f"HN-WIN-{i + 1:04d}")
        app.save(window)
        windows.append(actor)

    providers = []
    for i in range(12):
        actor = actors.enrol(f"provider/{i + 1:03d}", "provider")
        provider = Provider.apply_for(
            stream=actor,
            actor=actor,
            name=f"{rng.choice(CITIES)}{rng.choice(ITEMS)}服务有限公司",
            credit_code=_credit_code(rng),
            categories=rng.sample(ITEMS, k=2),
        )
        provider.verify_real_name(actor=hub, method="unified social credit code check")
        provider.review(
            actor=hub,
            documents=[
                {"type": "营业执照", "sha256": hashlib.sha256(rng.randbytes(16)).hexdigest()}
            ],
            valid_until="2028-12-31",
        )
        provider.admit(actor=hub, platform=rng.choice(windows))
        app.save(provider)
        providers.append(actor)

    enterprises = []
    for i in range(40):
        member_of = rng.choice(windows)
        stream = f"enterprise/{i + 1:04d}"
        body = {
            "contact": {
                "name": rng.choice(SURNAMES) + rng.choice("伟芳娜敏静强磊军"),
                "phone": f"1{rng.randint(3000000000, 9999999999)}",
                "id_card": f"4301{rng.randint(10**13, 10**14 - 1)}",
            }
        }
        redacted, disclosures = redact(body, PI_PATHS)
        enterprise = Enterprise.register(
            stream=stream,
            actor=member_of,
            name=f"{rng.choice(COUNTIES)}{rng.choice(INDUSTRIES)}有限公司",
            credit_code=_credit_code(rng),
            platform=member_of,
            contact=redacted["contact"],
        )
        app.save(enterprise)
        result.disclosures += vault.store(stream, disclosures)
        enterprises.append(stream)

    # One provider's key is rotated: the old key is revoked, a new one registered.
    rotated = providers[0]
    old = keys.signer_for(rotated, app.refresh_keys())
    if old is not None:
        app.revoke_key(by="root", key=old.key_id, reason="key rotation (device replaced)")
        actors.enrol(rotated, "")  # same actor, new key

    day = date(2026, 3, 2)
    n = 0
    while (app.recorder.max_notification_id() or 0) < events:
        n += 1
        provider_id = rng.choice(providers)
        served = rng.sample(enterprises, k=rng.choice((1, 1, 2, 5, 12)))
        record = ServiceRecord.record(
            stream=f"service/{n:06d}",
            actor=rng.choice(windows),
            provider=provider_id,
            platform="platform/hub",
            item=rng.choice(ITEMS),
            enterprises=served,
            channel=rng.choice(("online", "offline")),
            charge=rng.choice(("free", "commercial")),
            fee_fen=rng.choice((0, 50_000, 120_000, 300_000)),
            evidence=_evidence(rng, day),
        )
        if rng.random() < 0.4:
            record.evaluate(
                actor=hub, enterprise=served[0], score=rng.randint(3, 5), comment="满意"
            )
        app.save(record)
        day += timedelta(days=rng.choice((0, 0, 1)))
        if progress is not None:
            progress(app.recorder.max_notification_id() or 0, events)

    app.publish()
    for row in db.iter_log(origin):
        result.entries += 1
        result.by_type[row.topic] += 1
    result.actors = actors.roles
    return result
