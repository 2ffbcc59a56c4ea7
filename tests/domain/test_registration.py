"""Who takes part, under the Hunan policy: organisations, platforms, providers, members and
agreements (HN 4, 8(2), 8(3), 18, 19(1), 24).

Each lifecycle runs through the real commands and ends with a clean compliance replay;
each refusal names its rule and article, or its lifecycle or permission error, and
leaves the log as it was. Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import partial
from typing import Any

import pytest

from ledger.app import LedgerApplication
from ledger.core.crypto import LocalSigner
from ledger.domain.catalogue import ServiceItem
from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.registration import (
    Acceptance,
    Agreement,
    Member,
    Organisation,
    Platform,
    Provider,
    acceptance_stream,
    with_check_character,
)
from ledger.domain.trading import GovernmentPurchase, Order, Voucher
from ledger.events import event_clock
from ledger.keystore import MemorySigners
from ledger.province import Province
from ledger.storage import Database
from tests.domain.world import (
    DOC,
    HUNAN,
    ITEM,
    WORLD_START,
    World,
    assert_complies,
    at,
    client_entry,
)

AGREEMENT = "agreement/users"
FIELDS: dict[str, Any] = dict(ITEM)
Step = Callable[[Provider], None]


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def save(world: World, *aggregates: Any) -> None:
    world.app.save(*aggregates)


def applicant(
    world: World,
    stream: str = "provider/p2",
    *,
    signs: bool = True,
    credit_code: str = "91430300MA4L00000R",
) -> Provider:
    """A provider that has applied, with its own key, and (when it ``signs``) signed the
    user agreements for providers in effect (HN 8(3)), and nothing more."""
    world.province.enrol(stream)
    provider = Provider.apply_for(
        stream=stream,
        actor=stream,
        name="湘潭精益检测有限公司",
        credit_code=credit_code,
        categories=["检验检测"],
    )
    signed = world.province.acceptances(stream, "provider") if signs else []
    save(world, provider, world.province.claim(provider), *signed)
    return provider


def admitted(world: World, stream: str = "provider/p2") -> Provider:
    applicant(world, stream)
    provider: Provider = load(world, stream)
    provider.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验")
    provider.review(actor="platform/changsha", documents=DOC, valid_until="2028-12-31")
    provider.admit(actor="platform/changsha", platform="platform/changsha")
    save(world, provider)
    return provider


def window(world: World, stream: str = "platform/zhuzhou") -> Platform:
    """A city window in Zhuzhou (430200) that has applied to join the network under the hub."""
    world.province.enrol(stream)
    platform = Platform.apply_for(
        stream=stream,
        actor=stream,
        name="株洲市综合窗口",
        level="city",
        parent="platform/hub",
        region="430200",
    )
    save(world, platform)
    return platform


def certified_window(world: World, stream: str = "platform/zhuzhou") -> Platform:
    window(world, stream)
    platform: Platform = load(world, stream)
    platform.recommend(actor="org/zhuzhou")
    platform.certify(actor="org/province", certificate="HN-WIN-2")
    save(world, platform)
    return platform


def publish(world: World, provider: str = "provider/p2", stream: str = "item/x") -> None:
    save(world, ServiceItem.publish(stream=stream, actor=provider, provider=provider, **FIELDS))


def member(
    world: World, stream: str = "member/e3", *, platform: str = "platform/changsha", **kw: Any
) -> Member:
    return world.province.enterprise(
        stream,
        by=platform,
        platform=platform,
        name="株洲动力机械有限公司",
        credit_code="91430200MA4L00000L",
        contact={"name": "赵强", "phone": "13800000003"},
        **kw,
    )


def order(world: World, buyer: str, stream: str = "order/o1", item: str = "item/i1") -> None:
    save(
        world,
        Order.create(
            stream=stream,
            buyer=buyer,
            item=item,
            provider="provider/p1",
            channel="online",
            price_fen=FIELDS["fee_fen"],
        ),
    )


def agreement(world: World) -> Agreement:
    published = Agreement.publish(
        stream=AGREEMENT,
        actor="platform/hub",
        title="湖南省中小企业公共服务平台网络用户协议",
        parties=["provider", "member"],
        sha256="aa" * 32,
        effective_from="2026-12-01",
    )
    save(world, published)
    return published


def accept(world: World, actor: str, version: int = 1) -> None:
    save(world, Acceptance.accept(actor=actor, agreement=AGREEMENT, version=version))


# -- organisations --------------------------------------------------------------------------


def test_the_root_registers_organisations_and_grants_and_withdraws_their_roles(
    hunan: World,
) -> None:
    hunan.province.organisation(
        "org/xiangtan", "湘潭市工业和信息化局", ["city_authority"], region="430300"
    )
    state: Organisation = load(hunan, "org/xiangtan")
    assert state.roles() == frozenset({"city_authority"})
    assert state.region == "430300"
    window(hunan)
    org: Organisation = load(hunan, "org/zhuzhou")
    org.withdraw(actor="root", role="city_authority", reason="职能调整")
    org.grant(actor="root", role="provincial_authority")
    save(hunan, org)
    assert load(hunan, "org/zhuzhou").roles() == {"provincial_authority"}

    platform: Platform = load(hunan, "platform/zhuzhou")
    platform.recommend(actor="org/zhuzhou")
    hunan.rejected(lambda: save(hunan, platform), NotPermittedError)

    org = load(hunan, "org/zhuzhou")
    org.grant(actor="root", role="city_authority")
    save(hunan, org)
    platform = load(hunan, "platform/zhuzhou")
    platform.recommend(actor="org/zhuzhou")
    save(hunan, platform)
    assert load(hunan, "platform/zhuzhou").status == "recommended"
    assert_complies(hunan)


def test_only_the_root_manages_organisations(hunan: World) -> None:
    hunan.rejected(
        lambda: save(
            hunan,
            Organisation.register(
                stream="org/x",
                actor="platform/hub",
                name="某局",
                roles=["city_authority"],
                region="430100",
            ),
        ),
        NotPermittedError,
    )
    org: Organisation = load(hunan, "org/changsha")
    org.grant(actor="org/province", role="provincial_authority")
    error = hunan.rejected(lambda: save(hunan, org), LifecycleError)
    assert "org/province does not appoint provincial_authority; only the root" in str(error)


@pytest.mark.parametrize(
    "change",
    [
        lambda org: org.grant(actor="root", role="city_authority"),  # already held
        lambda org: org.grant(actor="root", role="provincial_hr_department"),  # Anhui's
        lambda org: org.withdraw(actor="root", role="provincial_authority", reason="x"),
    ],
    ids=["held", "unknown-role", "not-held"],
)
def test_roles_change_only_where_they_make_sense(hunan: World, change: Any) -> None:
    org: Organisation = load(hunan, "org/changsha")
    change(org)
    hunan.rejected(lambda: save(hunan, org), LifecycleError)


# -- platforms -------------------------------------------------------------------------------


def test_a_window_applies_is_recommended_certified_and_disqualified(hunan: World) -> None:
    window(hunan)
    assert load(hunan, "platform/zhuzhou").status == "applied"

    platform: Platform = load(hunan, "platform/zhuzhou")
    platform.recommend(actor="org/zhuzhou", opinion="同意推荐")
    save(hunan, platform)
    assert load(hunan, "platform/zhuzhou").status == "recommended"

    platform = load(hunan, "platform/zhuzhou")
    platform.certify(actor="org/province", certificate="HN-WIN-2")
    save(hunan, platform)
    assert load(hunan, "platform/zhuzhou").status == "certified"
    member(hunan, platform="platform/zhuzhou")  # a certified window acts

    platform = load(hunan, "platform/zhuzhou")
    platform.cancel_qualification(actor="org/province", reason="年度考核不合格 (HN 24)")
    save(hunan, platform)
    cancelled = load(hunan, "platform/zhuzhou")
    assert (cancelled.status, cancelled.barred) == (
        "cancelled",
        "disqualified (qualification cancelled)",
    )
    assert_complies(hunan)


def test_a_window_is_certified_only_after_the_city_recommends_it(hunan: World) -> None:
    window(hunan)
    platform: Platform = load(hunan, "platform/zhuzhou")
    platform.certify(actor="org/province", certificate="HN-WIN-2")
    hunan.rejected(lambda: save(hunan, platform), LifecycleError)
    platform = load(hunan, "platform/zhuzhou")
    platform.cancel_qualification(actor="org/province", reason="x")
    hunan.rejected(lambda: save(hunan, platform), LifecycleError)


@pytest.mark.parametrize(
    ("step", "actor"),
    [
        ("certify", "provider/p1"),
        ("certify", "org/changsha"),
        ("recommend", "org/province"),
        ("recommend", "platform/hub"),
    ],
)
def test_only_the_authorities_recommend_and_certify(hunan: World, step: str, actor: str) -> None:
    window(hunan)
    platform: Platform = load(hunan, "platform/zhuzhou")
    if step == "certify":
        platform.recommend(actor="org/zhuzhou")
        save(hunan, platform)
        platform = load(hunan, "platform/zhuzhou")
        platform.certify(actor=actor, certificate="HN-WIN-2")
    else:
        platform.recommend(actor=actor)
    error = hunan.rejected(lambda: save(hunan, platform), NotPermittedError)
    assert isinstance(error, NotPermittedError)
    assert error.actor == actor


def test_an_uncertified_window_cannot_act_yet(hunan: World) -> None:
    window(hunan)
    hunan.rejected(lambda: member(hunan, platform="platform/zhuzhou"), LifecycleError)


@pytest.mark.parametrize(
    ("level", "parent"),
    [("city", None), ("city", "platform/nowhere"), ("hub", "platform/hub"), ("town", "x")],
)
def test_a_platform_applies_with_a_level_and_a_parent_that_fit(
    hunan: World, level: str, parent: str | None
) -> None:
    hunan.province.enrol("platform/x")
    platform = Platform.apply_for(
        stream="platform/x",
        actor="platform/x",
        name="x",
        level=level,
        parent=parent,
        region="430100",
    )
    hunan.rejected(lambda: save(hunan, platform), LifecycleError)


def test_a_disqualified_window_does_nothing_more(hunan: World) -> None:
    certified_window(hunan)
    applicant(hunan)
    platform: Platform = load(hunan, "platform/zhuzhou")
    platform.cancel_qualification(actor="org/province", reason="弄虚作假 (HN 24)")
    save(hunan, platform)

    hunan.violates(4, lambda: member(hunan, platform="platform/zhuzhou"))
    provider: Provider = load(hunan, "provider/p2")
    provider.verify_real_name(actor="platform/zhuzhou", method="x")
    hunan.violates(4, lambda: save(hunan, provider))
    # nor does anyone onboard a provider onto it
    provider = load(hunan, "provider/p2")
    provider.verify_real_name(actor="platform/hub", method="x")
    provider.review(actor="platform/hub", documents=DOC, valid_until="2028-12-31")
    provider.admit(actor="platform/hub", platform="platform/zhuzhou")
    hunan.violates(4, lambda: save(hunan, provider))


# -- providers -------------------------------------------------------------------------------


def test_a_provider_applies_is_verified_reviewed_admitted_and_kept_current(
    hunan: World,
) -> None:
    applicant(hunan)
    steps: list[Step] = [
        lambda p: p.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验"),
        lambda p: p.review(actor="platform/changsha", documents=DOC, valid_until="2027-12-31"),
        lambda p: p.admit(actor="platform/changsha", platform="platform/changsha"),
        lambda p: p.reverify(
            actor="platform/changsha", method="年度核实", documents=DOC, valid_until="2028-12-31"
        ),
        lambda p: p.suspend(actor="platform/hub", reason="投诉调查中"),
        lambda p: p.reinstate(actor="platform/hub", reason="调查结束"),
    ]
    for step in steps:
        provider: Provider = load(hunan, "provider/p2")
        step(provider)
        save(hunan, provider)
        if step is steps[2]:
            publish(hunan)  # admitted: it acts

    state = load(hunan, "provider/p2")
    assert (state.verified, state.reviewed, state.admitted) == (True, True, True)
    assert (state.platform, state.valid_until, state.suspended) == (
        "platform/changsha",
        "2028-12-31",
        None,
    )
    publish(hunan, stream="item/y")  # reinstated: it acts again
    assert_complies(hunan)


ENDINGS: dict[str, tuple[Step, str]] = {
    "blacklisted": (lambda p: p.blacklist(actor="platform/hub", reason="虚假宣传"), "blacklisted"),
    "disqualified-by-hub": (
        lambda p: p.cancel_qualification(actor="platform/hub", reason="资质造假"),
        "disqualified (qualification cancelled)",
    ),
    "disqualified-by-province": (
        lambda p: p.cancel_qualification(actor="org/province", reason="骗取财政资金 (HN 24)"),
        "disqualified (qualification cancelled)",
    ),
}


@pytest.mark.parametrize("ending", ENDINGS, ids=list(ENDINGS))
def test_a_barred_provider_does_nothing_more(hunan: World, ending: str) -> None:
    end, barred = ENDINGS[ending]
    provider: Provider = load(hunan, "provider/p1")
    end(provider)
    save(hunan, provider)
    assert load(hunan, "provider/p1").barred == barred
    assert_complies(hunan)

    error = hunan.violates(4, lambda: publish(hunan, provider="provider/p1"))
    assert "provider/p1" in error.problem
    agreement(hunan)
    hunan.violates(4, lambda: accept(hunan, "provider/p1"))
    provider = load(hunan, "provider/p1")
    provider.reinstate(actor="platform/hub", reason="申诉")
    hunan.violates(4, lambda: save(hunan, provider))
    provider = load(hunan, "provider/p1")
    end(provider)  # barred once is enough
    hunan.rejected(lambda: save(hunan, provider), LifecycleError)


@pytest.mark.parametrize("by", ["provider/p1", "platform/changsha"])
def test_a_provider_deregisters_and_is_gone(hunan: World, by: str) -> None:
    provider: Provider = load(hunan, "provider/p1")
    provider.deregister(actor=by, reason="停业")
    save(hunan, provider)
    assert load(hunan, "provider/p1").deregistered is not None
    assert_complies(hunan)

    hunan.rejected(lambda: publish(hunan, provider="provider/p1"), LifecycleError)
    provider = load(hunan, "provider/p1")
    provider.reverify(
        actor="platform/changsha", method="x", documents=DOC, valid_until="2028-12-31"
    )
    hunan.rejected(lambda: save(hunan, provider), LifecycleError)


def test_an_unverified_provider_cannot_act(hunan: World) -> None:
    applicant(hunan)
    error = hunan.violates(1, lambda: publish(hunan))
    assert "real-name verified" in error.problem


def test_a_provider_not_reviewed_and_admitted_cannot_act(hunan: World) -> None:
    applicant(hunan)
    provider: Provider = load(hunan, "provider/p2")
    provider.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验")
    save(hunan, provider)
    hunan.violates(2, lambda: publish(hunan))

    provider = load(hunan, "provider/p2")
    provider.review(actor="platform/changsha", documents=DOC, valid_until="2028-12-31")
    save(hunan, provider)
    error = hunan.violates(2, lambda: publish(hunan))
    assert "admitted: False" in error.problem


@pytest.mark.parametrize("verified", [False, True])
def test_admission_follows_verification_and_review(hunan: World, verified: bool) -> None:
    applicant(hunan)
    provider: Provider = load(hunan, "provider/p2")
    if verified:
        provider.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验")
    else:
        provider.review(actor="platform/changsha", documents=DOC, valid_until="2028-12-31")
    provider.admit(actor="platform/changsha", platform="platform/changsha")
    error = hunan.violates(2, lambda: save(hunan, provider))
    assert "admitted only after" in error.problem


def test_a_suspended_provider_cannot_act_until_reinstated(hunan: World) -> None:
    provider: Provider = load(hunan, "provider/p1")
    provider.suspend(actor="platform/hub", reason="投诉调查中")
    save(hunan, provider)
    error = hunan.violates(2, lambda: publish(hunan, provider="provider/p1"))
    assert "suspended" in error.problem
    provider = load(hunan, "provider/p1")
    provider.suspend(actor="platform/hub", reason="again")
    hunan.rejected(lambda: save(hunan, provider), LifecycleError)


def test_a_provider_whose_qualification_expired_cannot_act_until_reverified(
    hunan: World,
) -> None:
    after = datetime(2029, 1, 2, 2, 0, tzinfo=UTC)  # p1's qualification ran to 2028-12-31
    with at(hunan, after):
        error = hunan.violates(2, lambda: publish(hunan, provider="provider/p1"))
        assert "expired on 2028-12-31" in error.problem
        provider: Provider = load(hunan, "provider/p1")
        provider.reverify(
            actor="platform/changsha", method="x", documents=DOC, valid_until="2028-12-31"
        )
        hunan.rejected(lambda: save(hunan, provider), LifecycleError)  # already past
        for documents in ([], [{"type": "营业执照"}], [{"type": "营业执照", "sha256": "AB" * 32}]):
            unfounded: Provider = load(hunan, "provider/p1")
            unfounded.reverify(
                actor="platform/changsha",
                method="资质复核",
                documents=documents,
                valid_until="2030-12-31",
            )
            refused = hunan.rejected(partial(save, hunan, unfounded), LifecycleError)
            assert "a re-verification" in str(refused)
        provider = load(hunan, "provider/p1")
        provider.reverify(
            actor="platform/changsha", method="资质复核", documents=DOC, valid_until="2030-12-31"
        )
        save(hunan, provider)
        publish(hunan, provider="provider/p1")
    assert_complies(hunan)


def test_a_provider_whose_review_expired_is_not_admitted_until_reviewed_again(
    hunan: World,
) -> None:
    applicant(hunan)
    provider: Provider = load(hunan, "provider/p2")
    provider.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验")
    provider.review(actor="platform/changsha", documents=DOC, valid_until="2026-12-31")
    save(hunan, provider)
    with at(hunan, datetime(2027, 1, 1, 2, 0, tzinfo=UTC)):  # the review ran to 2026-12-31
        provider = load(hunan, "provider/p2")
        provider.admit(actor="platform/changsha", platform="platform/changsha")
        error = hunan.violates(2, lambda: save(hunan, provider))
        assert "expired on 2026-12-31" in error.problem
        provider = load(hunan, "provider/p2")
        provider.review(actor="platform/changsha", documents=DOC, valid_until="2028-12-31")
        provider.admit(actor="platform/changsha", platform="platform/changsha")
        save(hunan, provider)
    assert load(hunan, "provider/p2").admitted
    assert_complies(hunan)


@pytest.mark.parametrize(
    ("documents", "valid_until"),
    [(DOC, "2020-12-31"), ([], "2028-12-31"), (DOC, "31/12/2028")],
    ids=["expired", "no-documents", "not-a-date"],
)
def test_a_review_names_documents_and_a_future_validity(
    hunan: World, documents: list[dict[str, Any]], valid_until: str
) -> None:
    applicant(hunan)
    provider: Provider = load(hunan, "provider/p2")
    provider.review(actor="platform/changsha", documents=documents, valid_until=valid_until)
    hunan.rejected(lambda: save(hunan, provider), LifecycleError)


@pytest.mark.parametrize(
    ("step", "actor"),
    [
        ("blacklist", "platform/changsha"),
        ("blacklist", "provider/p2"),
        ("suspend", "platform/changsha"),
        ("cancel_qualification", "platform/changsha"),
    ],
)
def test_only_the_hub_or_an_authority_sanctions_providers(
    hunan: World, step: str, actor: str
) -> None:
    admitted(hunan)
    provider: Provider = load(hunan, "provider/p1")
    getattr(provider, step)(actor=actor, reason="x")
    hunan.rejected(lambda: save(hunan, provider), NotPermittedError)


def test_a_provider_is_admitted_once(hunan: World) -> None:
    provider: Provider = load(hunan, "provider/p1")
    provider.admit(actor="platform/hub", platform="platform/hub")
    hunan.rejected(lambda: save(hunan, provider), LifecycleError)


# -- members ---------------------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["member/e1", "provider/p1"])
def test_a_platform_not_certified_deregisters_no_one(hunan: World, subject: str) -> None:
    window(hunan)  # applied, never recommended nor certified
    registrant: Any = load(hunan, subject)
    registrant.deregister(actor="platform/zhuzhou", reason="清理")
    error = hunan.rejected(lambda: save(hunan, registrant), LifecycleError)
    assert "not certified" in str(error)
    assert load(hunan, subject).deregistered is None


def test_a_disqualified_platform_deregisters_no_one(hunan: World) -> None:
    certified_window(hunan)
    platform: Platform = load(hunan, "platform/zhuzhou")
    platform.cancel_qualification(actor="org/province", reason="弄虚作假 (HN 24)")
    save(hunan, platform)
    registrant: Member = load(hunan, "member/e1")
    registrant.deregister(actor="platform/zhuzhou", reason="清理")
    hunan.violates(4, lambda: save(hunan, registrant))


def test_a_member_registers_is_verified_blacklisted_and_deregistered(hunan: World) -> None:
    member(hunan, verify=False)
    assert load(hunan, "member/e3").verified is False

    state: Member = load(hunan, "member/e3")
    state.verify_real_name(actor="platform/changsha", method="营业执照核验")
    save(hunan, state)
    order(hunan, "member/e3")  # verified: it trades

    state = load(hunan, "member/e3")
    state.blacklist(actor="platform/hub", reason="恶意差评")
    save(hunan, state)
    assert load(hunan, "member/e3").barred == "blacklisted"

    state = load(hunan, "member/e3")
    state.deregister(actor="platform/changsha", reason="注销账户")
    save(hunan, state)
    assert load(hunan, "member/e3").deregistered is not None
    assert_complies(hunan)


def test_a_member_deregisters_itself_and_is_gone(hunan: World) -> None:
    state: Member = load(hunan, "member/e2")
    state.deregister(actor="member/e2", reason="企业注销")
    save(hunan, state)
    assert_complies(hunan)

    hunan.rejected(lambda: order(hunan, "member/e2"), LifecycleError)
    state = load(hunan, "member/e2")
    state.verify_real_name(actor="platform/changsha", method="x")
    hunan.rejected(lambda: save(hunan, state), LifecycleError)


def test_hunan_registers_persons_of_any_age(hunan: World) -> None:
    """The age range is AH 25's (rule 3): it does not apply under the Hunan policy."""
    hunan.province.person(
        "member/u1",
        by="platform/changsha",
        platform="platform/changsha",
        identity={"name": "刘洋", "id_card": "430102195001011234"},
        birth_date=date(1950, 1, 1),
    )
    assert load(hunan, "member/u1").verified
    assert_complies(hunan)


def test_an_unverified_member_cannot_trade_or_accept(hunan: World) -> None:
    member(hunan, verify=False)
    error = hunan.violates(1, lambda: order(hunan, "member/e3"))
    assert "member/e3" in error.problem
    agreement(hunan)
    hunan.violates(1, lambda: accept(hunan, "member/e3"))


def test_a_blacklisted_member_does_nothing_more(hunan: World) -> None:
    state: Member = load(hunan, "member/e1")
    state.blacklist(actor="platform/hub", reason="虚假注册")
    save(hunan, state)
    hunan.violates(4, lambda: order(hunan, "member/e1"))
    agreement(hunan)
    hunan.violates(4, lambda: accept(hunan, "member/e1"))
    state = load(hunan, "member/e1")
    state.blacklist(actor="platform/hub", reason="again")
    hunan.rejected(lambda: save(hunan, state), LifecycleError)


def test_members_are_registered_and_sanctioned_by_platforms(hunan: World) -> None:
    registration = Member.register(
        stream="member/e3",
        actor="provider/p1",
        kind="enterprise",
        name="x",
        credit_code="91430200MA4L00000L",
        identity={},
        platform="platform/changsha",
        state_owned=False,
    )
    hunan.rejected(lambda: save(hunan, registration), NotPermittedError)
    state: Member = load(hunan, "member/e1")
    state.blacklist(actor="platform/changsha", reason="x")  # the hub's sanction
    hunan.rejected(lambda: save(hunan, state), NotPermittedError)


# -- agreements (HN 8(3)) ---------------------------------------------------------------------


def test_an_agreement_is_published_revised_and_accepted(
    hunan: World, events_on_world_time: None
) -> None:
    agreement(hunan)
    accept(hunan, "provider/p1")
    accept(hunan, "member/e1")

    published: Agreement = load(hunan, AGREEMENT)
    published.revise(actor="platform/hub", sha256="bb" * 32, effective_from="2027-01-01")
    save(hunan, published)
    assert load(hunan, AGREEMENT).versions == {1: "2026-12-01", 2: "2027-01-01"}

    acceptance: Acceptance = load(hunan, acceptance_stream(AGREEMENT, "provider/p1"))
    acceptance.accept_version(actor="provider/p1", agreement=AGREEMENT, version=2)
    save(hunan, acceptance)
    assert load(hunan, acceptance_stream(AGREEMENT, "provider/p1")).accepted == [1, 2]
    accept(hunan, "member/e2", version=2)
    assert_complies(hunan)


def test_agreements_are_the_hubs_and_accepted_by_providers_and_members(
    hunan: World, events_on_world_time: None
) -> None:
    not_hub = Agreement.publish(
        stream="agreement/window",
        actor="platform/changsha",
        title="x",
        parties=["provider"],
        sha256="aa" * 32,
        effective_from="2026-12-01",
    )
    hunan.rejected(lambda: save(hunan, not_hub), NotPermittedError)
    agreement(hunan)
    hunan.rejected(lambda: accept(hunan, "platform/changsha"), NotPermittedError)


def test_acceptances_name_a_published_version_once_in_the_acceptors_stream(
    hunan: World, events_on_world_time: None
) -> None:
    agreement(hunan)
    hunan.rejected(lambda: accept(hunan, "member/e1", version=2), LifecycleError)
    accept(hunan, "member/e1")
    acceptance: Acceptance = load(hunan, acceptance_stream(AGREEMENT, "member/e1"))
    acceptance.accept_version(actor="member/e1", agreement=AGREEMENT, version=1)
    hunan.rejected(lambda: save(hunan, acceptance), LifecycleError)
    on_behalf = Acceptance._create(
        Acceptance.AgreementAccepted,
        id=acceptance_stream(AGREEMENT, "member/e2"),
        actor="member/e1",
        agreement=AGREEMENT,
        version=1,
    )
    hunan.rejected(lambda: save(hunan, on_behalf), LifecycleError)
    published: Agreement = load(hunan, AGREEMENT)
    published.trigger_event(
        Agreement.AgreementRevised,
        actor="platform/hub",
        version=3,
        sha256="cc" * 32,
        effective_from="2027-01-01",
    )
    hunan.rejected(lambda: save(hunan, published), LifecycleError)


def test_an_agreement_names_who_signs_it_and_versions_take_effect_in_order(
    hunan: World, events_on_world_time: None
) -> None:
    for parties in ([], ["platform"], ["provider", "provider"]):
        bad = Agreement.publish(
            stream="agreement/bad",
            actor="platform/hub",
            title="x",
            parties=parties,
            sha256="aa" * 32,
            effective_from="2026-12-01",
        )
        error = hunan.rejected(partial(save, hunan, bad), LifecycleError)
        assert "signed by some of provider, member" in str(error)
    agreement(hunan)
    published: Agreement = load(hunan, AGREEMENT)
    published.revise(actor="platform/hub", sha256="bb" * 32, effective_from="2026-11-30")
    error = hunan.rejected(lambda: save(hunan, published), LifecycleError)
    assert "before version 1 (2026-12-01)" in str(error)
    providers_only = "agreement/providers"  # the world's agreement with providers
    error = hunan.rejected(
        lambda: save(
            hunan, Acceptance.accept(actor="member/e1", agreement=providers_only, version=1)
        ),
        LifecycleError,
    )
    assert "signed by provider, not by member/e1" in str(error)


def test_an_agreement_binds_from_its_publication_never_before(
    hunan: World, events_on_world_time: None
) -> None:
    """HN 8(3): a version takes effect on the day it is published or later; one backdated
    would change which version was in effect when providers were admitted."""
    backdated = Agreement.publish(
        stream=AGREEMENT,
        actor="platform/hub",
        title="x",
        parties=["member"],
        sha256="aa" * 32,
        effective_from="2026-11-23",
    )
    error = hunan.rejected(lambda: save(hunan, backdated), LifecycleError)
    assert (
        "agreement/users: version 1 cannot take effect on 2026-11-23, before the day it is "
        "published (2026-11-24): an agreement binds from its publication, never before "
        "(HN 8(3))"
    ) in str(error)
    assert load(hunan, "agreement/providers").versions == {1: "2026-11-24"}  # published today

    later = datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
    with at(hunan, later):
        terms: Agreement = load(hunan, "agreement/providers")
        terms.revise(actor="platform/hub", sha256="ef" * 32, effective_from="2026-11-24")
        error = hunan.rejected(lambda: save(hunan, terms), LifecycleError)
        assert (
            "agreement/providers: version 2 cannot take effect on 2026-11-24, before the day it "
            "is published (2026-12-20)"
        ) in str(error)
        assert load(hunan, "agreement/providers").version_on(date(2026, 12, 1)) == 1
        terms = load(hunan, "agreement/providers")
        terms.revise(actor="platform/hub", sha256="ef" * 32, effective_from="2026-12-20")
        save(hunan, terms)
    assert load(hunan, "agreement/providers").versions == {1: "2026-11-24", 2: "2026-12-20"}
    assert_complies(hunan)


def test_in_anhui_an_agreement_binds_from_its_publication_too(
    anhui: World, events_on_world_time: None
) -> None:
    def published(effective_from: str) -> Agreement:
        return Agreement.publish(
            stream="agreement/cloud-user",
            actor="org/operator",
            title="安徽省创业服务云平台用户服务协议",
            parties=["provider", "member"],
            sha256="aa" * 32,
            effective_from=effective_from,
        )

    error = anhui.rejected(lambda: save(anhui, published("2026-11-01")), LifecycleError)
    assert "before the day it is published (2026-11-24)" in str(error)
    assert "(AH 10(5))" in str(error)
    save(anhui, published("2026-12-01"))  # announced ahead: binds from 2026-12-01
    assert load(anhui, "agreement/cloud-user").versions == {1: "2026-12-01"}


def test_an_agreement_is_published_as_version_1(hunan: World) -> None:
    """Later versions are revisions, each following the one before: a client-signed
    publication naming another version is refused, and stores nothing."""
    body = {
        "title": "服务商数据安全协议",
        "parties": ["provider"],
        "version": 7,
        "sha256": "ef" * 32,
        "effective_from": "2026-11-24",
    }
    raw = client_entry(hunan, "platform/hub", "agreement/data", "AgreementPublished", body).raw
    error = hunan.rejected(lambda: hunan.app.submit(raw), LifecycleError)
    assert (
        "agreement/data: an agreement is published as version 1, not version 7; each later "
        "version is a revision (HN 8(3))"
    ) in str(error)
    assert hunan.app.subject("agreement/data") is None
    body["version"] = 1
    hunan.app.submit(
        client_entry(hunan, "platform/hub", "agreement/data", "AgreementPublished", body).raw
    )
    assert load(hunan, "agreement/data").versions == {1: "2026-11-24"}
    assert_complies(hunan)


def _unsigned_applicant(
    world: World, reviewer: str = "platform/hub", credit_code: str = "91430300MA4L00000R"
) -> Provider:
    """Provider p2: applied, verified and reviewed by ``reviewer``, and signed nothing."""
    provider = applicant(world, signs=False, credit_code=credit_code)
    provider.verify_real_name(actor=reviewer, method="统一社会信用代码核验")
    provider.review(actor=reviewer, documents=DOC, valid_until="2028-12-31")
    save(world, provider)
    return provider


def test_a_provider_is_admitted_once_it_signed_the_agreement_in_effect(
    hunan: World, events_on_world_time: None
) -> None:
    """HN 8(3): the hub signs its user agreement with every provider; admission waits for
    the provider's acceptance of the version in effect, and a later version once it is."""
    provider = _unsigned_applicant(hunan)
    provider.admit(actor="platform/hub", platform="platform/changsha")
    error = hunan.rejected(lambda: save(hunan, provider), LifecycleError)
    assert "accepted agreement/providers version 1, in effect since 2026-11-24 (HN 8(3))" in (
        str(error)
    )

    terms: Agreement = load(hunan, "agreement/providers")
    terms.revise(actor="platform/hub", sha256="ef" * 32, effective_from="2026-12-10")
    save(hunan, terms)
    later = datetime(2026, 12, 10, 2, 0, tzinfo=UTC)
    with at(hunan, later):  # version 2 is in effect: version 1 alone no longer admits
        save(
            hunan,
            Acceptance.accept(actor="provider/p2", agreement="agreement/providers", version=1),
        )
        provider = load(hunan, "provider/p2")
        provider.admit(actor="platform/hub", platform="platform/changsha")
        error = hunan.rejected(lambda: save(hunan, provider), LifecycleError)
        assert "agreement/providers version 2, in effect since 2026-12-10" in str(error)
        assert hunan.province.acceptances("provider/p2", "provider")  # version 2 to sign
        save(hunan, *hunan.province.acceptances("provider/p2", "provider"), provider)
    assert load(hunan, "provider/p2").admitted
    assert load(hunan, acceptance_stream("agreement/providers", "provider/p2")).accepted == [1, 2]
    assert_complies(hunan)


def test_an_agreement_not_yet_in_effect_admits_no_one(
    hunan: World, events_on_world_time: None
) -> None:
    """Accepting a version that takes effect later is signing ahead: it counts once that
    version is in effect, and a provider that signed only it is not admitted before."""
    agreement(hunan)  # agreement/users binds providers too, from 2026-12-01
    provider = _unsigned_applicant(hunan)
    save(hunan, Acceptance.accept(actor="provider/p2", agreement=AGREEMENT, version=1))
    provider.admit(actor="platform/hub", platform="platform/changsha")
    error = hunan.rejected(lambda: save(hunan, provider), LifecycleError)
    assert "agreement/providers version 1" in str(error)
    save(hunan, *hunan.province.acceptances("provider/p2", "provider"), provider)
    assert load(hunan, "provider/p2").admitted


def test_no_provider_is_admitted_while_no_agreement_for_providers_is_in_effect(
    db: Database,
) -> None:
    keys = MemorySigners()
    root = LocalSigner.generate()
    keys.add("root", root)
    app = LedgerApplication(
        db, "ledger.example.org/no-terms", signers=keys, clock=lambda: WORLD_START
    )
    app.open_ledger(
        policy=HUNAN, root_actor="root", root_signers=[root], log_signer=LocalSigner.generate()
    )
    province = Province(app, keys)
    with event_clock(lambda: WORLD_START):
        province.organisation(
            "org/province", "湖南省经济和信息化委员会", ["provincial_authority"], region="430000"
        )
        province.platform(
            "platform/hub",
            name="省枢纽服务平台",
            level="hub",
            parent=None,
            region="430000",
            certifier="org/province",
            certificate="HN-HUB-1",
        )
        before = app.recorder.max_notification_id()
        with pytest.raises(LifecycleError, match=r"HN 8\(3\)\), and none is in effect"):
            province.provider(
                "provider/p1",
                name="长沙智达管理咨询有限公司",
                credit_code="91430100MA4L00000F",
                categories=["管理咨询"],
                reviewer="platform/hub",
                platform="platform/hub",
                documents=DOC,
                valid_until="2028-12-31",
            )
        assert app.recorder.max_notification_id() == before


def test_anhui_admits_without_an_agreement(anhui: World, events_on_world_time: None) -> None:
    """The Anhui measures make no user agreement a condition of entry."""
    save(
        anhui,
        Agreement.publish(
            stream="agreement/cloud-user",
            actor="org/operator",
            title="安徽省创业服务云平台用户服务协议",
            parties=["provider", "member"],
            sha256="aa" * 32,
            effective_from="2026-11-24",
        ),
    )
    code = with_check_character("91340100MA4L00000")
    provider = _unsigned_applicant(anhui, "org/operator", code)
    provider.admit(actor="org/operator", platform="platform/cloud")
    save(anhui, provider)
    assert load(anhui, "provider/p2").admitted


# -- events of another policy ----------------------------------------------------------------


@pytest.mark.parametrize("anhui_only", ["voucher", "purchase"])
def test_an_anhui_only_event_is_not_an_event_of_hunan(hunan: World, anhui_only: str) -> None:
    if anhui_only == "voucher":  # AH 17: 省人社厅 issues vouchers; Hunan has none
        event: Any = Voucher.issue(
            stream="voucher/v1",
            actor="org/province",
            holder="member/e1",
            face_value_fen=50_000,
            expires_on="2027-12-31",
            categories=["管理咨询"],
        )
    else:  # AH 18: government purchases
        event = GovernmentPurchase.request(
            stream="purchase/p1", department="org/province", purpose="培训", budget_fen=100_000
        )
    error = hunan.rejected(lambda: save(hunan, event), NotPermittedError)
    assert isinstance(error, NotPermittedError)
    assert error.allowed == ()
    assert "is not an event of hunan-sme-2015" in str(error)


# -- the platform network (HN 2, 4, 13) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "parent", "problem"),
    [
        ("cloud", None, "level 'cloud' is not a platform level of hunan-sme-2015"),
        ("hub", None, "the network has one hub platform, and platform/hub is it (HN 2; HN 4)"),
        ("city", None, "the hub platform has no parent; every other platform has one"),
        ("county", "platform/hub", "a county platform does not apply under the hub platform"),
        ("city", "platform/changsha", "a city platform does not apply under the city platform"),
    ],
)
def test_a_platform_applies_at_a_level_of_the_network(
    hunan: World, level: str, parent: str | None, problem: str
) -> None:
    hunan.province.enrol("platform/x")
    applied = Platform.apply_for(
        stream="platform/x",
        actor="platform/x",
        name="x",
        level=level,
        parent=parent,
        region="430100",
    )
    error = hunan.rejected(lambda: save(hunan, applied), LifecycleError)
    assert problem in str(error)


def test_a_platform_applies_under_a_certified_parent_only(hunan: World) -> None:
    window(hunan)  # platform/zhuzhou has applied, not yet certified
    hunan.province.enrol("platform/x")
    applied = Platform.apply_for(
        stream="platform/x",
        actor="platform/x",
        name="县窗口",
        level="county",
        parent="platform/zhuzhou",
        region="430211",
    )
    error = hunan.rejected(lambda: save(hunan, applied), LifecycleError)
    assert "is applied, not certified" in str(error)


def test_an_industry_window_may_apply_under_a_city_window(hunan: World) -> None:
    hunan.province.enrol("platform/x")
    save(
        hunan,
        Platform.apply_for(
            stream="platform/x",
            actor="platform/x",
            name="长沙工程机械产业窗口",
            level="industry",
            parent="platform/changsha",
            region="430100",
        ),
    )
    assert_complies(hunan)


def test_a_platform_onboards_only_for_itself_and_the_platforms_beneath_it(hunan: World) -> None:
    certified_window(hunan)  # platform/zhuzhou, beside platform/changsha under the hub
    applicant(hunan)
    provider: Provider = load(hunan, "provider/p2")
    provider.verify_real_name(actor="platform/changsha", method="统一社会信用代码核验")
    provider.review(actor="platform/changsha", documents=DOC, valid_until="2028-12-31")
    save(hunan, provider)
    provider = load(hunan, "provider/p2")
    provider.admit(actor="platform/changsha", platform="platform/zhuzhou")
    error = hunan.rejected(lambda: save(hunan, provider), LifecycleError)
    assert "platform/changsha acts for itself and the platforms beneath it" in str(error)
    assert "platform/zhuzhou is not one of them (above it: platform/hub)" in str(error)

    error = hunan.rejected(
        lambda: hunan.province.enterprise(
            "member/e3",
            by="platform/changsha",
            platform="platform/zhuzhou",
            name="株洲动力机械有限公司",
            credit_code="91430200MA4L00000L",
            contact={"name": "赵强", "phone": "13800000003"},
        ),
        LifecycleError,
    )
    assert "platform/changsha acts for itself" in str(error)

    provider = load(hunan, "provider/p2")
    provider.admit(actor="platform/hub", platform="platform/zhuzhou")  # the hub, above it
    save(hunan, provider)
    member(hunan, platform="platform/zhuzhou")
    assert_complies(hunan)


def test_a_platform_does_not_verify_or_deregister_another_windows_parties(hunan: World) -> None:
    certified_window(hunan)  # platform/zhuzhou, beside platform/changsha
    member_state: Member = load(hunan, "member/e1")  # registered with platform/changsha
    member_state.deregister(actor="platform/zhuzhou", reason="注销")
    error = hunan.rejected(lambda: save(hunan, member_state), LifecycleError)
    assert "platform/zhuzhou acts for itself and the platforms beneath it" in str(error)
    provider: Provider = load(hunan, "provider/p1")  # admitted to platform/changsha
    provider.reverify(
        actor="platform/zhuzhou", method="年度核实", documents=DOC, valid_until="2028-12-31"
    )
    error = hunan.rejected(lambda: save(hunan, provider), LifecycleError)
    assert "platform/changsha is not one of them" in str(error)
    provider = load(hunan, "provider/p1")
    provider.deregister(actor="platform/hub", reason="停业")  # the hub, above it
    save(hunan, provider)
    assert_complies(hunan)


def test_a_new_hub_applies_only_once_the_old_one_is_disqualified(hunan: World) -> None:
    hub: Platform = load(hunan, "platform/hub")
    hub.cancel_qualification(actor="org/province", reason="不履行义务 (HN 24)")
    save(hunan, hub)
    hunan.province.enrol("platform/hub2")
    save(
        hunan,
        Platform.apply_for(
            stream="platform/hub2",
            actor="platform/hub2",
            name="省枢纽服务平台(新运营机构)",
            level="hub",
            parent=None,
            region="430000",
        ),
    )
    assert load(hunan, "platform/hub2").status == "applied"
    assert_complies(hunan)


# -- regions: authorities and platforms by administrative division (HN 2, 4, 19(4), 24) ------


def organisation(world: World, roles: list[str], region: str | None, stream: str = "org/x") -> Any:
    return Organisation.register(
        stream=stream, actor="root", name="某局", roles=roles, region=region
    )


@pytest.mark.parametrize(
    ("region", "problem"),
    [
        ("湘潭", "region '湘潭' is not an administrative division code (GB/T 2260): six digits"),
        ("43030", "region '43030' is not an administrative division code"),
        ("4303001", "region '4303001' is not an administrative division code"),
        ("430021", "region 430021 is not an administrative division code (GB/T 2260): it names "),
        ("000100", "region 000100 is not an administrative division code"),
        ("340100", "region 340100 does not lie within 430000, the province of hunan-sme-2015"),
    ],
)
def test_an_authority_is_registered_with_a_division_code_of_the_province(
    hunan: World, region: str, problem: str
) -> None:
    hunan.province.enrol("org/x")
    error = hunan.rejected(
        lambda: save(hunan, organisation(hunan, ["city_authority"], region)), LifecycleError
    )
    assert f"org/x: {problem}" in str(error)


def test_an_authority_that_acts_by_locality_is_registered_with_its_region(hunan: World) -> None:
    hunan.province.enrol("org/x")
    error = hunan.rejected(
        lambda: save(hunan, organisation(hunan, ["city_authority"], None)), LifecycleError
    )
    assert (
        "org/x: a city_authority acts within its region (HN 19(4); HN 24) and is registered with it"
    ) in str(error)
    save(hunan, organisation(hunan, ["city_authority"], "430300"))
    assert (load(hunan, "org/x").roles(), load(hunan, "org/x").region) == (
        {"city_authority"},
        "430300",
    )
    assert_complies(hunan)


def test_in_anhui_a_region_is_optional_but_a_division_code(anhui: World) -> None:
    anhui.province.enrol("org/x")
    error = anhui.rejected(
        lambda: save(anhui, organisation(anhui, ["government_department"], "合肥")),
        LifecycleError,
    )
    assert "region '合肥' is not an administrative division code" in str(error)
    save(anhui, organisation(anhui, ["government_department"], None))
    assert load(anhui, "org/hrss").region == "340000"
    assert_complies(anhui)


def applied(world: World, stream: str, level: str, parent: str | None, region: str) -> Platform:
    world.province.enrol(stream)
    return Platform.apply_for(
        stream=stream, actor=stream, name="窗口", level=level, parent=parent, region=region
    )


@pytest.mark.parametrize(
    ("level", "parent", "region", "problem"),
    [
        ("city", "platform/hub", "株洲", "region '株洲' is not an administrative division code"),
        ("county", "platform/changsha", "430221", "region 430221 does not lie within 430100, "),
        ("county", "platform/changsha", "430000", "region 430000 does not lie within 430100, "),
        ("industry", "platform/hub", "340100", "region 340100 does not lie within 430000, the "),
    ],
    ids=["not-a-code", "another-citys-county", "the-whole-province", "another-province"],
)
def test_a_platform_lies_within_its_parents_region(
    hunan: World, level: str, parent: str, region: str, problem: str
) -> None:
    platform = applied(hunan, "platform/x", level, parent, region)
    error = hunan.rejected(lambda: save(hunan, platform), LifecycleError)
    assert f"platform/x: {problem}" in str(error)


def test_a_county_window_lies_within_its_city_and_an_industry_window_within_the_province(
    hunan: World,
) -> None:
    save(hunan, applied(hunan, "platform/liuyang", "county", "platform/changsha", "430181"))
    save(hunan, applied(hunan, "platform/industry", "industry", "platform/hub", "430000"))
    assert load(hunan, "platform/liuyang").region == "430181"
    assert_complies(hunan)


def test_a_new_hub_lies_within_the_province(hunan: World) -> None:
    hub: Platform = load(hunan, "platform/hub")
    hub.cancel_qualification(actor="org/province", reason="不履行义务 (HN 24)")
    save(hunan, hub)
    platform = applied(hunan, "platform/hub2", "hub", None, "340000")
    error = hunan.rejected(lambda: save(hunan, platform), LifecycleError)
    assert "region 340000 does not lie within 430000, the province of hunan-sme-2015" in str(error)


@pytest.mark.parametrize(
    ("stream", "region", "authority", "authority_region"),
    [
        ("platform/zhuzhou", "430200", "org/changsha", "430100"),
        ("platform/liuyang", "430181", "org/zhuzhou", "430200"),
    ],
)
def test_a_city_authority_recommends_only_windows_of_its_region(
    hunan: World, stream: str, region: str, authority: str, authority_region: str
) -> None:
    parent = "platform/hub" if stream == "platform/zhuzhou" else "platform/changsha"
    level = "city" if stream == "platform/zhuzhou" else "county"
    save(hunan, applied(hunan, stream, level, parent, region))
    platform: Platform = load(hunan, stream)
    platform.recommend(actor=authority)
    error = hunan.rejected(lambda: save(hunan, platform), LifecycleError)
    assert (
        f"{stream}: {stream} lies in {region}, outside {authority}'s region {authority_region}: "
        "an authority acts within its own region, and a case beyond it goes to the authority "
        "above (HN 19(4); HN 24)"
    ) in str(error)
    platform = load(hunan, stream)
    platform.recommend(actor="org/changsha" if level == "county" else "org/zhuzhou")
    platform.certify(actor="org/province", certificate="HN-WIN-9")  # the province covers all
    save(hunan, platform)
    assert load(hunan, stream).status == "certified"
    assert_complies(hunan)
