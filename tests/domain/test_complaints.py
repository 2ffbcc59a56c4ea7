"""Complaints under the Hunan policy: registered always (HN 19(3)), mediated by the platform
that onboarded the respondent, then by the authority of the locality where the respondent
lies if that fails (HN 19(4), 24), resolved and closed with the complainant's feedback;
under the Anhui policy, a complaint against the cloud operator or the cloud platform goes
to 省人社厅 (AH 7). Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.core.errors import LedgerError
from ledger.domain.complaints import Complaint
from ledger.domain.errors import LifecycleError, NotPermittedError, RuleViolationError
from ledger.domain.registration import Member
from ledger.domain.services import ServiceRecord
from ledger.domain.trading import Deposit
from tests.domain.world import World, assert_complies, at, county_window, network_provider

COMPLAINT = "complaint/c1"
LEVELS_REACHED = ["platform", "authority"]


@pytest.fixture
def world(hunan: World) -> Iterator[World]:
    """The Hunan world with one service of provider/p1 to member/e1, at the world's clock."""
    with at(hunan, hunan.now[0]):
        hunan.app.save(
            ServiceRecord.record(
                policy=hunan.app.policy,
                stream="service/s1",
                actor="platform/changsha",
                provider="provider/p1",
                platform="platform/changsha",
                item="item/i1",
                enterprises=["member/e1"],
                channel="offline",
                charge="commercial",
                fee_fen=120_000,  # item/i1's fee
                evidence=[
                    {
                        "type": "合同",
                        "sha256": "12" * 32,
                        "basis_date": "2026-11-20",
                        "media_type": "application/pdf",
                        "size": 4096,
                    }
                ],
            )
        )
        yield hunan


def load(world: World) -> Complaint:
    found: Complaint = world.app.repository.get(COMPLAINT)
    return found


def save(world: World, *aggregates: Any) -> None:
    world.app.save(*aggregates)


def register(
    world: World,
    complainant: str = "member/e1",
    respondent: str = "provider/p1",
    about: str | None = "service/s1",
) -> None:
    save(
        world,
        Complaint.register(
            stream=COMPLAINT,
            complainant=complainant,
            respondent=respondent,
            about=about,
            summary="咨询报告未按约定时限交付",
        ),
    )


def step(world: World, do: Any) -> Complaint:
    """Load the complaint, take one step, save it, and return it as it now stands."""
    complaint = load(world)
    do(complaint)
    save(world, complaint)
    return load(world)


def refused(world: World, do: Any, error: type[LedgerError] = LifecycleError) -> None:
    complaint = load(world)
    do(complaint)
    world.rejected(lambda: save(world, complaint), error)


def refusal(world: World, do: Any, error: type[LedgerError] = LifecycleError) -> str:
    """Like :func:`refused`, and the refusal's message."""
    complaint = load(world)
    do(complaint)
    return str(world.rejected(lambda: save(world, complaint), error))


def at_platform(world: World) -> None:
    """Registered, acknowledged and in mediation at the onboarding platform."""
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-2026-001"))
    step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))


def failed_at_the_authority(world: World) -> None:
    """Mediation failed at the onboarding platform, then at the city authority."""
    at_platform(world)
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    step(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    step(world, lambda c: c.mediation_failed(reason="仍未达成一致"))


def register_in_anhui(world: World, respondent: str = "provider/p1") -> None:
    register(world, respondent=respondent, about=None)


def failed_at_the_operator(world: World) -> None:
    """Registered in Anhui, acknowledged and mediated by the operator, without agreement."""
    register_in_anhui(world)
    step(world, lambda c: c.acknowledge(actor="org/operator", reference="AH-TS-1"))
    step(world, lambda c: c.mediate(actor="org/operator", level="platform"))
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))


# -- happy paths -----------------------------------------------------------------------------


def test_a_complaint_escalates_from_the_platform_to_the_city_and_is_closed(
    world: World,
) -> None:
    register(world)
    assert load(world).status == "registered"
    c = step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-2026-001"))
    assert (c.status, c.handler) == ("acknowledged", "platform/changsha")
    c = step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    assert (c.status, c.mediator, c.levels) == ("mediating", "platform/changsha", ["platform"])
    c = step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    assert c.status == "mediation failed"
    c = step(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert (c.mediator, c.levels) == ("org/changsha", ["platform", "authority"])
    c = step(world, lambda c: c.resolve(actor="org/changsha", outcome="退还50%服务费"))
    assert c.status == "resolved"
    c = step(world, lambda c: c.close(feedback="认可调解结果", satisfied=True))
    assert c.status == "closed"
    assert_complies(world)


def test_a_complaint_is_resolved_at_the_platform(world: World) -> None:
    at_platform(world)
    step(world, lambda c: c.resolve(actor="platform/changsha", outcome="补交报告"))
    c = step(world, lambda c: c.close(feedback="问题已解决", satisfied=True))
    assert (c.status, c.levels) == ("closed", ["platform"])
    assert_complies(world)


def test_a_complaint_is_resolved_by_its_handler_without_mediation(world: World) -> None:
    register(world, complainant="provider/p1", respondent="member/e1", about=None)
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    step(world, lambda c: c.resolve(actor="platform/hub", outcome="已核实并处理"))
    c = step(world, lambda c: c.close(feedback="不满意处理时长", satisfied=False))
    assert (c.status, c.levels) == ("closed", [])
    assert_complies(world)


def test_every_complaint_is_registered_even_from_a_blacklisted_member(world: World) -> None:
    member: Member = world.app.repository.get("member/e1")
    member.blacklist(actor="platform/hub", reason="恶意差评")
    save(world, member)
    register(world)  # HN 19(3): a complaint is always registered
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-2026-002"))
    step(world, lambda c: c.resolve(actor="platform/changsha", outcome="驳回"))
    step(world, lambda c: c.close(feedback="不认可", satisfied=False))
    assert_complies(world)


def test_after_the_authority_failed_it_concludes_and_the_complainant_closes(
    world: World,
) -> None:
    failed_at_the_authority(world)
    c = step(
        world,
        lambda c: c.resolve(
            actor="org/changsha", outcome="调解不成,告知可申请仲裁或向人民法院起诉"
        ),
    )
    assert (c.status, c.mediator, c.levels) == ("resolved", "org/changsha", LEVELS_REACHED)
    c = step(world, lambda c: c.close(feedback="将向人民法院起诉", satisfied=False))
    assert c.status == "closed"
    assert_complies(world)


@pytest.mark.parametrize("levels", [["platform"], ["platform", "authority"]])
def test_after_a_failed_mediation_the_complainant_may_close_it_unresolved(
    world: World, levels: list[str]
) -> None:
    if levels == ["platform"]:
        at_platform(world)
        step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    else:
        failed_at_the_authority(world)
    c = step(world, lambda c: c.close(feedback="通过其他渠道维权", satisfied=False))
    assert (c.status, c.levels) == ("closed unresolved", levels)
    error = refusal(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert "the complaint is closed unresolved" in error
    error = refusal(world, lambda c: c.resolve(actor="org/changsha", outcome="x"))
    assert "is closed unresolved, not acknowledged or mediating" in error
    assert_complies(world)


def test_a_complaint_against_a_window_is_mediated_by_its_parent_platform(world: World) -> None:
    register(world, respondent="platform/changsha")
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    c = step(world, lambda c: c.mediate(actor="platform/hub", level="platform"))
    assert (c.handler, c.mediator) == ("platform/hub", "platform/hub")
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    # the window lies in Changsha (HN 24): the authority of its locality is Changsha's
    error = refusal(world, lambda c: c.mediate(actor="org/zhuzhou", level="authority"))
    assert (
        "complaint/c1: the complaint against platform/changsha lies in 430100, outside "
        "org/zhuzhou's region 430200: an authority acts within its own region"
    ) in error
    assert load(world).levels == ["platform"]
    step(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    step(world, lambda c: c.resolve(actor="org/changsha", outcome="窗口平台补办服务"))
    c = step(world, lambda c: c.close(feedback="满意", satisfied=True))
    assert (c.status, c.levels) == ("closed", LEVELS_REACHED)
    assert_complies(world)


def test_a_complaint_against_a_member_is_mediated_by_the_platform_it_registered_with(
    world: World,
) -> None:
    register(world, complainant="provider/p1", respondent="member/e1")
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    error = refusal(world, lambda c: c.mediate(actor="platform/hub", level="platform"))
    assert "mediation is at platform/changsha, which onboarded the respondent" in error
    c = step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    assert (c.handler, c.mediator) == ("platform/hub", "platform/changsha")
    step(world, lambda c: c.resolve(actor="platform/changsha", outcome="会员补付服务费"))
    step(world, lambda c: c.close(feedback="已收到", satisfied=True))
    assert_complies(world)


def test_a_complaint_against_the_hub_is_resolved_by_its_handler(world: World) -> None:
    register(world, respondent="platform/hub", about=None)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    error = refusal(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    assert "no platform other than a party onboarded platform/hub" in error
    step(world, lambda c: c.resolve(actor="platform/changsha", outcome="已转省枢纽平台整改"))
    c = step(world, lambda c: c.close(feedback="认可", satisfied=True))
    assert (c.status, c.levels) == ("closed", [])
    assert_complies(world)


def test_a_platforms_complaint_against_a_provider_it_onboarded(world: World) -> None:
    register(world, complainant="platform/changsha", respondent="provider/p1")
    error = refusal(world, lambda c: c.acknowledge(actor="platform/changsha", reference="x"))
    assert "platform/changsha is the complaint's complainant, and a party never handles it" in (
        error
    )
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    error = refusal(world, lambda c: c.mediate(actor="platform/hub", level="platform"))
    assert "no platform other than a party onboarded provider/p1" in error
    step(world, lambda c: c.resolve(actor="platform/hub", outcome="服务商限期整改"))
    c = step(world, lambda c: c.close(feedback="认可", satisfied=True))
    assert c.status == "closed"
    assert_complies(world)


def test_an_anhui_complaint_escalates_to_the_hrss_which_refers_it(anhui: World) -> None:
    world = anhui
    failed_at_the_operator(world)
    c = step(world, lambda c: c.mediate(actor="org/hrss", level="authority"))
    assert (c.mediator, c.levels) == ("org/hrss", LEVELS_REACHED)
    step(world, lambda c: c.mediation_failed(reason="仍未达成一致"))
    step(world, lambda c: c.resolve(actor="org/hrss", outcome="调解不成,告知可申请仲裁"))
    c = step(world, lambda c: c.close(feedback="将申请仲裁", satisfied=False))
    assert c.status == "closed"
    assert_complies(world)


def test_an_anhui_complaint_about_the_cloud_platform_is_resolved_by_the_hrss(
    anhui: World,
) -> None:
    """The operator runs the cloud platform; 省人社厅 owns and supervises it (AH 7)."""
    world = anhui
    register_in_anhui(world, respondent="platform/cloud")  # AH 13(3): platform services
    c = step(world, lambda c: c.acknowledge(actor="org/hrss", reference="RST-TS-2"))
    assert (c.status, c.handler) == ("acknowledged", "org/hrss")
    error = refusal(world, lambda c: c.mediate(actor="org/operator", level="platform"))
    assert "no platform other than a party onboarded platform/cloud" in error
    error = refusal(world, lambda c: c.resolve(actor="org/operator", outcome="x"))
    assert "this step is org/hrss's, not org/operator's" in error
    step(world, lambda c: c.resolve(actor="org/hrss", outcome="责令运营商优化平台功能"))
    c = step(world, lambda c: c.close(feedback="满意", satisfied=True))
    assert (c.status, c.handler, c.levels) == ("closed", "org/hrss", [])
    assert_complies(world)


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("registration", "problem"),
    [
        ({"actor": "member/e2"}, "registered by its complainant"),  # on someone else's behalf
        ({"respondent": "provider/nope"}, "respondent 'provider/nope' does not exist"),
        ({"respondent": "member/e1"}, "member/e1 cannot complain against itself"),
        ({"about": "service/nope"}, "'service/nope' does not exist"),
    ],
)
def test_a_complaint_is_the_complainants_against_a_known_respondent(
    world: World, registration: dict[str, Any], problem: str
) -> None:
    fields = {
        "actor": "member/e1",
        "complainant": "member/e1",
        "respondent": "provider/p1",
        "about": "service/s1",
        "summary": "x",
        **registration,
    }
    complaint = Complaint._create(Complaint.ComplaintRegistered, id=COMPLAINT, **fields)
    assert problem in str(world.rejected(lambda: save(world, complaint), LifecycleError))


def test_a_platform_acknowledges_once(world: World) -> None:
    register(world)
    refused(world, lambda c: c.acknowledge(actor="member/e2", reference="x"), NotPermittedError)
    refused(world, lambda c: c.acknowledge(actor="org/changsha", reference="x"), NotPermittedError)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    refused(world, lambda c: c.acknowledge(actor="platform/hub", reference="x"))


def test_mediation_starts_at_the_platform_that_onboarded_the_respondent(world: World) -> None:
    register(world)
    refused(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))  # unacked
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    error = refusal(world, lambda c: c.mediate(actor="platform/hub", level="platform"))
    assert "mediation is at platform/changsha, which onboarded the respondent" in error
    refused(world, lambda c: c.mediate(actor="platform/changsha", level="arbitration"))
    error = refusal(world, lambda c: c.mediate(actor="provider/p1", level="platform"))
    assert "provider/p1 is the complaint's respondent, and a party never mediates it" in error
    assert "(HN 19(4))" in error


def test_the_authority_mediates_only_after_the_platform_failed(world: World) -> None:
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    refused(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    refused(world, lambda c: c.mediate(actor="org/changsha", level="authority"))  # still on
    step(world, lambda c: c.mediation_failed(reason="未达成一致"))
    error = refusal(  # a provider the Changsha window onboarded: not Zhuzhou's (HN 19(4), 24)
        world, lambda c: c.mediate(actor="org/zhuzhou", level="authority")
    )
    assert (
        "complaint/c1: the complaint against provider/p1, onboarded by platform/changsha, lies "
        "in 430100, outside org/zhuzhou's region 430200: an authority acts within its own "
        "region, and a case beyond it goes to the authority above (HN 19(4); HN 24)"
    ) in error
    assert load(world).status == "mediation failed"


def test_only_the_mediator_reports_failure_or_resolves(world: World) -> None:
    at_platform(world)
    refused(
        world,
        lambda c: c.trigger_event(Complaint.MediationFailed, actor="platform/hub", reason="x"),
    )
    refused(world, lambda c: c.resolve(actor="platform/hub", outcome="x"))
    refused(world, lambda c: c.resolve(actor="org/changsha", outcome="x"))


def test_only_the_complainant_closes_a_resolved_complaint(world: World) -> None:
    at_platform(world)
    refused(world, lambda c: c.close(feedback="x", satisfied=True))  # not resolved yet
    step(world, lambda c: c.resolve(actor="platform/changsha", outcome="补交报告"))
    refused(
        world,
        lambda c: c.trigger_event(
            Complaint.ComplaintClosed, actor="provider/p1", feedback="x", satisfied=True
        ),
    )
    step(world, lambda c: c.close(feedback="满意", satisfied=True))
    refused(world, lambda c: c.close(feedback="again", satisfied=True))


@pytest.mark.parametrize("platform", ["platform/changsha", "platform/hub"])
def test_a_platform_never_mediates_at_the_authority_level(world: World, platform: str) -> None:
    at_platform(world)
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    error = refusal(
        world, lambda c: c.mediate(actor=platform, level="authority"), NotPermittedError
    )
    assert (
        f"{platform} is not permitted (HN 19(4)): MediationStarted at the authority level may "
        "be written only by city_authority, provincial_authority under hunan-sme-2015"
    ) in error
    assert load(world).status == "mediation failed"


def test_an_authority_never_mediates_at_the_platform_level(world: World) -> None:
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    error = refusal(
        world, lambda c: c.mediate(actor="org/changsha", level="platform"), NotPermittedError
    )
    assert "MediationStarted at the platform level may be written only by platform" in error


def test_a_window_never_handles_or_mediates_a_complaint_against_itself(world: World) -> None:
    register(world, respondent="platform/changsha")
    error = refusal(world, lambda c: c.acknowledge(actor="platform/changsha", reference="x"))
    assert (
        "platform/changsha is the complaint's respondent, and a party never handles it (HN 19(3))"
    ) in error
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    error = refusal(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    assert "platform/changsha is the complaint's respondent, and a party never mediates it" in (
        error
    )
    error = refusal(world, lambda c: c.resolve(actor="platform/changsha", outcome="驳回"))
    assert "this step is platform/hub's, not platform/changsha's" in error
    step(world, lambda c: c.mediate(actor="platform/hub", level="platform"))
    error = refusal(world, lambda c: c.resolve(actor="platform/changsha", outcome="驳回"))
    assert "this step is platform/hub's, not platform/changsha's" in error


def test_only_the_authority_that_mediated_concludes_after_its_mediation_failed(
    world: World,
) -> None:
    failed_at_the_authority(world)
    error = refusal(world, lambda c: c.resolve(actor="platform/changsha", outcome="x"))
    assert "this step is org/changsha's, not platform/changsha's" in error
    error = refusal(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert (
        "follows failed mediation at the platform, or a mediator that can no longer act "
        "(HN 19(4)); the complaint is mediation failed" in error
    )
    refused(
        world,
        lambda c: c.trigger_event(
            Complaint.ComplaintClosed, actor="provider/p1", feedback="x", satisfied=True
        ),
    )


def disqualify(world: World, platform: str) -> None:
    found: Any = world.app.repository.get(platform)
    found.cancel_qualification(actor="org/province", reason="年度考核不合格 (HN 24)")
    save(world, found)


def test_a_handler_that_can_no_longer_act_leaves_the_complaint_to_another(
    world: World,
) -> None:
    """A window acknowledged the complaint, then lost its qualification: the hub takes the
    complaint over rather than leave it open for good; while the window can act, no one."""
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-2026-001"))
    error = refusal(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    assert (
        "is acknowledged, not registered, nor acknowledged by a handler that can no longer "
        "act (HN 19(3))" in error
    )

    disqualify(world, "platform/changsha")
    refused(world, lambda c: c.resolve(actor="platform/changsha", outcome="x"), RuleViolationError)
    refused(  # a party never handles its complaint, even one left without a handler
        world, lambda c: c.acknowledge(actor="provider/p1", reference="P1-1")
    )
    taken = step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-1"))
    assert (taken.status, taken.handler) == ("acknowledged", "platform/hub")
    resolved = step(world, lambda c: c.resolve(actor="platform/hub", outcome="退还服务费"))
    assert resolved.status == "resolved"
    step(world, lambda c: c.close(feedback="认可处理结果", satisfied=True))
    assert_complies(world)


def test_a_mediator_that_can_no_longer_act_leaves_mediation_to_the_authority(
    world: World,
) -> None:
    """The onboarding window lost its qualification while it mediated: the authority of the
    locality mediates next, as after failed mediation at the platform (HN 19(4), 24)."""
    at_platform(world)
    error = refusal(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert "a mediator that can no longer act (HN 19(4)); the complaint is mediating" in error

    disqualify(world, "platform/changsha")
    refused(world, lambda c: c.mediation_failed(reason="x"), RuleViolationError)
    refused(world, lambda c: c.mediate(actor="org/zhuzhou", level="authority"))  # elsewhere
    mediated = step(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert (mediated.status, mediated.mediator) == ("mediating", "org/changsha")
    assert mediated.levels == LEVELS_REACHED
    step(world, lambda c: c.resolve(actor="org/changsha", outcome="调解达成一致"))
    assert_complies(world)


def test_in_anhui_a_new_operator_takes_over_the_complaints_of_one_revoked(anhui: World) -> None:
    """AH 3, 7: 省人社厅 revokes the operator that acknowledged a complaint and appoints
    another, which handles it from there."""
    world = anhui
    register_in_anhui(world)
    step(world, lambda c: c.acknowledge(actor="org/operator", reference="AH-TS-1"))
    old: Any = world.app.repository.get("org/operator")
    old.withdraw(actor="org/hrss", role="cloud_operator", reason="运营绩效评价不合格 (AH 7)")
    save(world, old)
    refused(world, lambda c: c.resolve(actor="org/operator", outcome="x"), NotPermittedError)

    world.province.organisation("org/operator2", "新云平台运营商", ["supervisor"])
    new: Any = world.app.repository.get("org/operator2")
    new.grant(actor="org/hrss", role="cloud_operator")
    save(world, new)
    taken = step(world, lambda c: c.acknowledge(actor="org/operator2", reference="AH-TS-2"))
    assert (taken.status, taken.handler) == ("acknowledged", "org/operator2")
    step(world, lambda c: c.resolve(actor="org/operator2", outcome="协调退款"))
    assert_complies(world)


def test_after_the_platform_failed_it_does_not_resolve(world: World) -> None:
    at_platform(world)
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    error = refusal(world, lambda c: c.resolve(actor="platform/changsha", outcome="x"))
    assert "mediation at the platform failed: the authority mediates next" in error


def test_a_complaint_closed_unresolved_grounds_no_deposit_claim(world: World) -> None:
    save(world, Deposit.pay(provider="provider/p1", amount_fen=100_000, payment_ref="BZJ-1"))
    at_platform(world)
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    step(world, lambda c: c.close(feedback="通过其他渠道维权", satisfied=False))
    deposit: Deposit = world.app.repository.get("deposit/provider/p1")
    deposit.claim(actor="platform/hub", amount_fen=1, complaint=COMPLAINT, beneficiary="member/e1")
    error = world.rejected(lambda: save(world, deposit), LifecycleError)
    assert "is not a resolved complaint against the provider" in str(error)


def test_in_anhui_the_operator_mediates_first_and_the_hrss_second(anhui: World) -> None:
    world = anhui
    register_in_anhui(world)
    step(world, lambda c: c.acknowledge(actor="org/operator", reference="AH-TS-1"))
    error = refusal(
        world, lambda c: c.mediate(actor="org/hrss", level="platform"), NotPermittedError
    )
    assert (
        "org/hrss is not permitted (AH 10(5); AH 7): MediationStarted at the platform level may "
        "be written only by cloud_operator under anhui-startup-2017"
    ) in error
    step(world, lambda c: c.mediate(actor="org/operator", level="platform"))
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    for actor in ("org/operator", "org/county-hr"):
        error = refusal(
            world, lambda c, a=actor: c.mediate(actor=a, level="authority"), NotPermittedError
        )
        assert (
            f"{actor} is not permitted (AH 10(5); AH 7): MediationStarted at the authority "
            "level may be written only by provincial_hr_department"
        ) in error
    assert load(world).levels == ["platform"]


def test_in_anhui_the_respondent_never_handles_mediates_or_resolves(anhui: World) -> None:
    world = anhui
    register_in_anhui(world)
    error = refusal(world, lambda c: c.acknowledge(actor="provider/p1", reference="x"))
    assert (
        "provider/p1 is the complaint's respondent, and a party never handles it (AH 10(5); AH 7)"
    ) in error
    step(world, lambda c: c.acknowledge(actor="org/operator", reference="AH-TS-1"))
    error = refusal(world, lambda c: c.mediate(actor="provider/p1", level="platform"))
    assert "a party never mediates it (AH 10(5); AH 7)" in error
    error = refusal(world, lambda c: c.resolve(actor="provider/p1", outcome="x"))
    assert "this step is org/operator's, not provider/p1's" in error


# -- locality: the authority where the respondent lies (HN 19(4), 24) -----------------------


def failed_at_the_platform(world: World, respondent: str, platform: str) -> None:
    register(world, respondent=respondent, about=None)
    step(world, lambda c: c.acknowledge(actor=platform, reference="TS-1"))
    step(world, lambda c: c.mediate(actor=platform, level="platform"))
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))


@pytest.mark.parametrize("authority", ["org/liuyang", "org/changsha", "org/province"])
def test_an_authority_whose_region_holds_the_onboarding_platform_mediates(
    world: World, authority: str
) -> None:
    """The county's own authority, or one above it: each region holds 430181."""
    county_window(world)
    failed_at_the_platform(world, "provider/p3", "platform/liuyang")
    c = step(world, lambda c: c.mediate(actor=authority, level="authority"))
    assert (c.mediator, c.levels) == (authority, LEVELS_REACHED)
    step(world, lambda c: c.resolve(actor=authority, outcome="退还服务费"))
    c = step(world, lambda c: c.close(feedback="满意", satisfied=True))
    assert c.status == "closed"
    assert_complies(world)


@pytest.mark.parametrize(
    ("respondent", "platform", "authority", "where", "region"),
    [
        ("provider/p3", "platform/liuyang", "org/zhuzhou", "430181", "430200"),  # another city
        ("provider/p1", "platform/changsha", "org/liuyang", "430100", "430181"),  # the city above
    ],
)
def test_an_authority_does_not_mediate_beyond_its_region(
    world: World, respondent: str, platform: str, authority: str, where: str, region: str
) -> None:
    county_window(world)
    failed_at_the_platform(world, respondent, platform)
    error = refusal(world, lambda c: c.mediate(actor=authority, level="authority"))
    assert (
        f"the complaint against {respondent}, onboarded by {platform}, lies in {where}, "
        f"outside {authority}'s region {region}"
    ) in error
    assert load(world).levels == ["platform"]


@pytest.mark.parametrize("authority", ["org/liuyang", "org/changsha", "org/province"])
def test_a_complaint_against_a_county_window_goes_to_the_authority_where_it_lies(
    world: World, authority: str
) -> None:
    """A window lies where it is, not where its parent is (HN 24): the county's authority,
    or one above it, mediates once the parent window's mediation failed."""
    county_window(world)
    register(world, respondent="platform/liuyang", about=None)
    step(world, lambda c: c.acknowledge(actor="platform/hub", reference="HUB-2"))
    step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    step(world, lambda c: c.mediation_failed(reason="双方未达成一致"))
    error = refusal(world, lambda c: c.mediate(actor="org/zhuzhou", level="authority"))
    assert (
        "the complaint against platform/liuyang lies in 430181, outside org/zhuzhou's region 430200"
    ) in error
    assert load(world).levels == ["platform"]
    c = step(world, lambda c: c.mediate(actor=authority, level="authority"))
    assert (c.mediator, c.levels) == (authority, LEVELS_REACHED)
    step(world, lambda c: c.resolve(actor=authority, outcome="窗口平台限期整改"))
    assert_complies(world)


def test_a_complaint_against_a_provider_of_the_hub_goes_to_the_province(world: World) -> None:
    network_provider(world)
    failed_at_the_platform(world, "provider/net", "platform/hub")
    error = refusal(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    assert "onboarded by platform/hub, lies in 430000, outside org/changsha's region" in error
    step(world, lambda c: c.mediate(actor="org/province", level="authority"))
    step(world, lambda c: c.resolve(actor="org/province", outcome="服务商整改"))
    assert_complies(world)


def test_anhui_mediation_knows_no_locality(anhui: World) -> None:
    """The Anhui measures have 省人社厅 supervise the whole cloud platform (AH 7)."""
    world = anhui
    failed_at_the_operator(world)
    step(world, lambda c: c.mediate(actor="org/hrss", level="authority"))
    assert world.app.policy.parameters.locality is None
    assert_complies(world)


# -- Anhui: a complaint against the operator or its platform goes to 省人社厅 (AH 7) -------------


def test_a_complaint_against_the_operator_is_handled_by_the_hrss(anhui: World) -> None:
    world = anhui
    register_in_anhui(world, respondent="org/operator")
    error = refusal(world, lambda c: c.acknowledge(actor="org/operator", reference="x"))
    assert "org/operator is the complaint's respondent, and a party never handles it" in error
    c = step(world, lambda c: c.acknowledge(actor="org/hrss", reference="RST-TS-1"))
    assert (c.status, c.handler) == ("acknowledged", "org/hrss")
    # the operator was onboarded by no platform: its supervisor resolves the complaint
    error = refusal(
        world, lambda c: c.mediate(actor="org/hrss", level="platform"), NotPermittedError
    )
    assert "MediationStarted at the platform level may be written only by cloud_operator" in error
    error = refusal(world, lambda c: c.resolve(actor="org/operator", outcome="x"))
    assert "this step is org/hrss's, not org/operator's" in error
    step(world, lambda c: c.resolve(actor="org/hrss", outcome="责令运营商限期整改"))
    c = step(world, lambda c: c.close(feedback="满意", satisfied=True))
    assert (c.status, c.handler, c.levels) == ("closed", "org/hrss", [])
    assert_complies(world)


@pytest.mark.parametrize(
    ("respondent", "role", "actor"),
    [
        ("org/operator", "cloud_operator", "org/county-hr"),
        ("org/operator", "cloud_operator", "org/supervisor"),
        ("org/operator", "cloud_operator", "member/e2"),
        # not even the operator that runs it: a complaint against the cloud platform is
        # one against its running, which 省人社厅 supervises
        ("platform/cloud", "cloud_platform", "org/operator"),
        ("platform/cloud", "cloud_platform", "org/county-hr"),
        ("platform/cloud", "cloud_platform", "org/supervisor"),
    ],
)
def test_no_one_else_handles_a_complaint_against_the_operator_or_its_platform(
    anhui: World, respondent: str, role: str, actor: str
) -> None:
    """AH 7: 省人社厅 alone handles a complaint against the cloud operator or platform."""
    world = anhui
    register_in_anhui(world, respondent=respondent)
    error = refusal(world, lambda c: c.acknowledge(actor=actor, reference="x"), NotPermittedError)
    assert (
        f"{actor} is not permitted (AH 7; AH 10(5)): ComplaintAcknowledged of a complaint "
        f"against the {role} may be written only by provincial_hr_department under "
        "anhui-startup-2017"
    ) in error
    assert load(world).status == "registered"


@pytest.mark.parametrize("respondent", ["provider/p1", "member/e2"])
def test_the_hrss_handles_no_complaint_but_one_against_the_operator_or_its_platform(
    anhui: World, respondent: str
) -> None:
    """Other complaints are the operator's to handle (AH 10(5))."""
    world = anhui
    register_in_anhui(world, respondent=respondent)
    error = refusal(
        world, lambda c: c.acknowledge(actor="org/hrss", reference="x"), NotPermittedError
    )
    assert (
        f"org/hrss is not permitted (AH 10(5); AH 7): ComplaintAcknowledged of a complaint "
        f"against {respondent} may be written only by cloud_operator under anhui-startup-2017"
    ) in error
    step(world, lambda c: c.acknowledge(actor="org/operator", reference="AH-TS-1"))
    assert_complies(world)


def test_hunan_names_no_complaint_supervisor(world: World) -> None:
    """A complaint against a Hunan window is handled by another platform (HN 19(3))."""
    assert world.app.policy.parameters.complaint_supervisors is None
    register(world, respondent="platform/changsha")
    error = refusal(
        world, lambda c: c.acknowledge(actor="org/province", reference="x"), NotPermittedError
    )
    assert "ComplaintAcknowledged may be written only by platform" in error
