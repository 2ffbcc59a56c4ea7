"""Supervision: qualifications cancelled by the authority of the locality (HN 24), fund
recovery and award revocation (HN 25), reported statistics (HN 7(8), 14), admin
authorisations (AH 27), data sharing and exports (AH 34), work plans (HN 17), annual
evaluations (AH 7).

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ledger.core.envelope import decode_entry
from ledger.domain.catalogue import ServiceItem
from ledger.domain.errors import LifecycleError, NotPermittedError, RuleViolationError
from ledger.domain.registration import Platform, Provider
from ledger.domain.supervision import (
    FIGURES,
    AdminAction,
    AnnualEvaluation,
    Authorisation,
    AwardRevocation,
    DataExport,
    FundRecovery,
    Period,
    StatisticsReport,
    WorkPlan,
    parse_period,
)
from ledger.storage import Database
from tests.domain.world import (
    ANHUI,
    HUNAN,
    ITEM,
    World,
    assert_complies,
    at,
    client_entry,
    county_window,
    network_provider,
    open_world,
)

DIGEST = "ef" * 32
AFTER_NOVEMBER = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
PRICE = 120_000  # item/i1's fee


pytestmark = pytest.mark.usefixtures("events_on_world_time")


@pytest.fixture(params=[HUNAN, ANHUI])
def world(request: pytest.FixtureRequest, db: Database) -> World:
    return open_world(db, request.param)


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def last_body(world: World) -> dict[str, Any]:
    return dict(decode_entry(list(world.app.entries())[-1]).envelope.body)


# -- fund recovery and award revocation (HN 25) ---------------------------------------------


def test_funds_are_ordered_back_and_repaid(hunan: World) -> None:
    recovery = FundRecovery.order(
        stream="recovery/r1",
        actor="org/province",
        subject="platform/changsha",
        amount_fen=500_000,
        period="2026",
        basis="服务记录弄虚作假,追回补助资金",
    )
    hunan.app.save(recovery)
    recovery.repaid(actor="org/province", amount_fen=200_000, payment_ref="JK-1")
    hunan.app.save(recovery)
    recovery.repaid(actor="org/province", amount_fen=300_000, payment_ref="JK-2")
    hunan.app.save(recovery)
    assert load(hunan, "recovery/r1").repaid_fen == 500_000

    more = load(hunan, "recovery/r1")
    more.repaid(actor="org/province", amount_fen=1, payment_ref="JK-3")
    error = hunan.rejected(lambda: hunan.app.save(more), LifecycleError)
    assert "only 0 fen" in str(error)
    assert_complies(hunan)


def test_funds_are_recovered_for_a_period_in_its_one_spelling(hunan: World) -> None:
    def order(stream: str, period: str) -> None:
        recovery = FundRecovery.order(
            stream=stream,
            actor="org/province",
            subject="platform/changsha",
            amount_fen=1,
            period=period,
            basis="虚报服务企业家次",
        )
        hunan.app.save(recovery)

    order("recovery/r1", "2026q3")
    assert last_body(hunan)["period"] == "2026-Q3"

    error = hunan.rejected(lambda: order("recovery/r2", "2026年"), LifecycleError)
    assert "'2026年' is not a year, half-year, quarter or month" in str(error)
    error = hunan.rejected(lambda: order("recovery/r2", "2027"), LifecycleError)
    assert "period 2027 begins on 2027-01-01" in str(error)
    assert_complies(hunan)


def test_funds_are_recovered_only_from_a_known_subject(hunan: World) -> None:
    recovery = FundRecovery.order(
        stream="recovery/r1",
        actor="org/province",
        subject="platform/nowhere",
        amount_fen=1,
        period="2026",
        basis="—",
    )
    hunan.rejected(lambda: hunan.app.save(recovery), LifecycleError)


def test_an_award_is_revoked(hunan: World) -> None:
    revocation = AwardRevocation.revoke(
        stream="award-revocation/a1",
        actor="org/province",
        subject="platform/changsha",
        award="省级示范平台",
        basis="考核不合格",
    )
    hunan.app.save(revocation)
    assert "award-revocation/a1" in hunan.app.repository

    unknown = AwardRevocation.revoke(
        stream="award-revocation/a2",
        actor="org/province",
        subject="platform/nowhere",
        award="省级示范平台",
        basis="—",
    )
    hunan.rejected(lambda: hunan.app.save(unknown), LifecycleError)

    by_city = AwardRevocation.revoke(
        stream="award-revocation/a3",
        actor="org/changsha",
        subject="platform/changsha",
        award="省级示范平台",
        basis="—",
    )
    hunan.rejected(lambda: hunan.app.save(by_city), NotPermittedError)


# -- qualifications cancelled by the authority of the locality (HN 24) ---------------------------


def applicant(world: World) -> str:
    """A provider that has applied and was onboarded by no platform yet."""
    world.province.enrol("provider/p2")
    provider = Provider.apply_for(
        stream="provider/p2",
        actor="provider/p2",
        name="湘潭精益检测有限公司",
        credit_code="91430300MA4L00000R",
        categories=["检验检测"],
    )
    world.app.save(provider, world.province.claim(provider))
    return "provider/p2"


def cancel(world: World, provider: str, actor: str) -> None:
    state: Provider = load(world, provider)
    state.cancel_qualification(actor=actor, reason="服务信誉差、损害消费者权益 (HN 24)")
    world.app.save(state)


@pytest.mark.parametrize(
    ("subject", "authority"),
    [
        ("provider/p1", "org/changsha"),  # onboarded by the Changsha window
        ("provider/p3", "org/liuyang"),  # onboarded by the county window
        ("provider/p3", "org/changsha"),  # the county lies within the city
        ("provider/net", "org/province"),  # the hub's: the province covers it
        ("provider/p2", "org/province"),  # onboarded by no platform yet
    ],
)
def test_an_authority_cancels_the_qualification_of_a_provider_of_its_region(
    hunan: World, subject: str, authority: str
) -> None:
    if subject == "provider/p3":
        county_window(hunan)
    elif subject == "provider/net":
        network_provider(hunan)
    elif subject == "provider/p2":
        applicant(hunan)
    cancel(hunan, subject, authority)
    assert load(hunan, subject).barred == "disqualified (qualification cancelled)"
    if subject != "provider/p2":
        fields: dict[str, Any] = dict(ITEM)
        item = ServiceItem.publish(stream="item/x", actor=subject, provider=subject, **fields)
        hunan.violates(4, lambda: hunan.app.save(item))
    assert_complies(hunan)


@pytest.mark.parametrize(
    ("subject", "authority", "where", "region"),
    [
        ("provider/p1", "org/zhuzhou", "platform/changsha, lies in 430100", "430200"),
        ("provider/p1", "org/liuyang", "platform/changsha, lies in 430100", "430181"),
        ("provider/p3", "org/zhuzhou", "platform/liuyang, lies in 430181", "430200"),
        ("provider/net", "org/changsha", "platform/hub, lies in 430000", "430100"),
        ("provider/p2", "org/changsha", "no platform, lies in 430000", "430100"),
    ],
)
def test_an_authority_cancels_no_qualification_beyond_its_region(
    hunan: World, subject: str, authority: str, where: str, region: str
) -> None:
    county_window(hunan)
    network_provider(hunan)
    applicant(hunan)
    error = hunan.rejected(lambda: cancel(hunan, subject, authority), LifecycleError)
    assert (
        f"{subject}: {subject}, onboarded by {where}, outside {authority}'s region {region}: "
        "an authority acts within its own region, and a case beyond it goes to the authority "
        "above (HN 19(4); HN 24)"
    ) in str(error)
    assert load(hunan, subject).barred is None
    cancel(hunan, subject, "org/province")  # the case goes up: the province covers it
    assert_complies(hunan)


def test_a_window_qualification_is_the_provinces_to_cancel(hunan: World) -> None:
    """The pack lets only the provincial authority act on a window's qualification (HN 4,
    24); it covers every region."""
    platform: Platform = load(hunan, "platform/changsha")
    platform.cancel_qualification(actor="org/changsha", reason="x")
    error = hunan.rejected(lambda: hunan.app.save(platform), NotPermittedError)
    assert "PlatformQualificationCancelled may be written only by provincial_authority" in str(
        error
    )
    platform = load(hunan, "platform/changsha")
    platform.cancel_qualification(actor="org/province", reason="没有发挥窗口服务平台功能 (HN 24)")
    hunan.app.save(platform)
    assert load(hunan, "platform/changsha").status == "cancelled"
    assert_complies(hunan)


# -- reported statistics and their corrections (rule 13) --------------------------------------


def figures(**changes: int) -> dict[str, int]:
    return {**dict.fromkeys(FIGURES, 0), "items": 2, **changes}


def reporter(world: World) -> str:
    return "platform/changsha" if world.policy == HUNAN else "platform/cloud"


def test_statistics_are_reported_and_corrected(world: World) -> None:
    platform = reporter(world)
    report = StatisticsReport.report(platform=platform, period="2026-Q3", figures=figures())
    world.app.save(report)
    report.correct(corrects=1, figures=figures(services=3), reason="漏报三次服务")
    world.app.save(report)
    report.correct(corrects=2, figures=figures(services=4), reason="再次更正")
    world.app.save(report)
    assert load(world, f"report/{platform}/2026-Q3").version == 3
    assert_complies(world)


@pytest.mark.parametrize("corrects", [0, 2, 99])
def test_a_correction_naming_no_earlier_version_breaks_rule_13(world: World, corrects: int) -> None:
    platform = reporter(world)
    world.app.save(StatisticsReport.report(platform=platform, period="2026-Q3", figures=figures()))
    report = load(world, f"report/{platform}/2026-Q3")
    report.correct(corrects=corrects, figures=figures(services=1), reason="更正")
    # not world.violates: rule 13 is a ledger invariant, named "ledger" for want of articles
    error = world.rejected(lambda: world.app.save(report))
    assert isinstance(error, RuleViolationError)
    assert (error.rule, error.article) == (13, "ledger"), str(error)
    assert f"it names {corrects}" in error.problem


def test_a_platform_reports_its_own_statistics_with_every_figure(world: World) -> None:
    platform = reporter(world)
    someone_else = "platform/hub" if world.policy == HUNAN else "org/operator"
    forged = StatisticsReport._create(
        StatisticsReport.StatisticsReported,
        id=f"report/{platform}/2026-Q3",
        actor=someone_else,
        platform=platform,
        period="2026-Q3",
        figures=figures(),
    )
    world.rejected(lambda: world.app.save(forged), LifecycleError)

    partial = StatisticsReport.report(platform=platform, period="2026-Q3", figures={"items": 2})
    world.rejected(lambda: world.app.save(partial), LifecycleError)
    negative = StatisticsReport.report(
        platform=platform, period="2026-Q4", figures=figures(items=-1)
    )
    world.rejected(lambda: world.app.save(negative), LifecycleError)

    world.app.save(StatisticsReport.report(platform=platform, period="2026-Q3", figures=figures()))
    report = load(world, f"report/{platform}/2026-Q3")
    report.trigger_event(
        StatisticsReport.StatisticsCorrected,
        actor=someone_else,
        corrects=1,
        figures=figures(),
        reason="代为更正",
    )
    world.rejected(lambda: world.app.save(report), LifecycleError)


# -- reporting periods: one spelling each, one report each ---------------------------------------


@pytest.mark.parametrize(
    ("text", "period", "first_day"),
    [
        ("2026", Period(2026, "Y", 1), "2026-01-01"),
        ("2026-H2", Period(2026, "H", 2), "2026-07-01"),
        ("2026-Q3", Period(2026, "Q", 3), "2026-07-01"),
        ("2026-Q4", Period(2026, "Q", 4), "2026-10-01"),
        ("2026-11", Period(2026, "M", 11), "2026-11-01"),
        ("2026-01", Period(2026, "M", 1), "2026-01-01"),
    ],
)
def test_a_period_has_one_spelling(text: str, period: Period, first_day: str) -> None:
    assert parse_period(text) == period
    assert str(period) == text
    assert period.first_day.isoformat() == first_day


@pytest.mark.parametrize(
    ("text", "spelling"),
    [("2026q3", "2026-Q3"), ("2026Q3", "2026-Q3"), ("2026-h1", "2026-H1"), ("2026-1", "2026-01")],
)
def test_other_spellings_denote_the_same_period(text: str, spelling: str) -> None:
    parsed = parse_period(text)
    assert parsed is not None
    assert str(parsed) == spelling


@pytest.mark.parametrize(
    "text",
    [
        "",
        "26",
        "2026-Q0",
        "2026-Q5",
        "2026-H3",
        "2026-00",
        "2026-13",
        "2026/Q3",
        "2026-W12",
        "Q3-2026",
        "2026-Q3-01",
        "2026-07-01",
        "0999",
    ],
)
def test_other_texts_are_no_period(text: str) -> None:
    assert parse_period(text) is None


@pytest.mark.parametrize(
    ("given", "stream"),
    [
        ("2026", "2026"),
        ("2026-H2", "2026-H2"),
        ("2026-q4", "2026-Q4"),
        ("2026Q3", "2026-Q3"),
        ("2026-7", "2026-07"),
        ("2026-11", "2026-11"),
    ],
)
def test_statistics_are_reported_in_the_periods_one_spelling(
    world: World, given: str, stream: str
) -> None:
    platform = reporter(world)
    world.app.save(StatisticsReport.report(platform=platform, period=given, figures=figures()))
    assert load(world, f"report/{platform}/{stream}").platform == platform
    assert last_body(world)["period"] == stream
    assert_complies(world)


def test_overlapping_periods_of_different_units_are_reported_apart(world: World) -> None:
    platform = reporter(world)
    for period in ("2026", "2026-H2", "2026-Q3", "2026-07"):
        world.app.save(StatisticsReport.report(platform=platform, period=period, figures=figures()))
        assert f"report/{platform}/{period}" in world.app.repository
    assert_complies(world)


@pytest.mark.parametrize("again", ["2026-Q3", "2026q3", "2026Q3", " 2026-Q3 "])
def test_a_period_is_reported_once_then_only_corrected(world: World, again: str) -> None:
    platform = reporter(world)
    world.app.save(StatisticsReport.report(platform=platform, period="2026-Q3", figures=figures()))
    second = StatisticsReport.report(platform=platform, period=again, figures=figures(services=9))
    error = world.rejected(lambda: world.app.save(second), LifecycleError)
    assert str(error) == (
        f"report/{platform}/2026-Q3: StatisticsReported begins a stream, "
        f"and report/{platform}/2026-Q3 already exists"
    )

    report = load(world, f"report/{platform}/2026-Q3")
    report.correct(corrects=1, figures=figures(services=9), reason="重报即更正")
    world.app.save(report)
    assert load(world, f"report/{platform}/2026-Q3").version == 2
    assert_complies(world)


def test_a_second_report_signed_onto_the_stream_is_refused(world: World) -> None:
    platform = reporter(world)
    world.app.save(StatisticsReport.report(platform=platform, period="2026-Q3", figures=figures()))
    body = {"platform": platform, "period": "2026-Q3", "figures": figures(services=9)}
    second = client_entry(world, platform, f"report/{platform}/2026-Q3", "StatisticsReported", body)
    assert second.envelope.version == 2
    error = world.rejected(lambda: world.app.submit(second.raw), LifecycleError)
    assert (
        f"StatisticsReported begins a stream, and report/{platform}/2026-Q3 already exists"
        in str(error)
    )


@pytest.mark.parametrize("spelling", ["2026Q3", "2026-q3", "2026-Q03", " 2026-Q3"])
def test_a_report_in_another_spelling_is_refused(world: World, spelling: str) -> None:
    platform = reporter(world)
    forged = StatisticsReport._create(
        StatisticsReport.StatisticsReported,
        id=f"report/{platform}/{spelling}",
        actor=platform,
        platform=platform,
        period=spelling,
        figures=figures(),
    )
    error = world.rejected(lambda: world.app.save(forged), LifecycleError)
    assert f"period {spelling!r} is spelled '2026-Q3'" in str(error)


@pytest.mark.parametrize("period", ["2026-Q5", "2026-13", "2026/Q3", "2026年第三季度", ""])
def test_a_report_for_no_period_is_refused(world: World, period: str) -> None:
    platform = reporter(world)
    report = StatisticsReport.report(platform=platform, period=period, figures=figures())
    error = world.rejected(lambda: world.app.save(report), LifecycleError)
    assert f"period {period!r} is not a year, half-year, quarter or month" in str(error)


@pytest.mark.parametrize(("period", "begins"), [("2027", "2027-01-01"), ("2026-12", "2026-12-01")])
def test_a_report_for_a_period_not_begun_is_refused(world: World, period: str, begins: str) -> None:
    platform = reporter(world)
    report = StatisticsReport.report(platform=platform, period=period, figures=figures())
    error = world.rejected(lambda: world.app.save(report), LifecycleError)
    assert f"period {period} begins on {begins}" in str(error)


def test_a_work_plan_is_filed_by_its_platform(hunan: World) -> None:
    plan = WorkPlan.file(
        platform="platform/changsha", year=2027, sha256=DIGEST, summary="2027年度工作计划"
    )
    hunan.app.save(plan)
    assert "plan/platform/changsha/2027" in hunan.app.repository

    again = WorkPlan.file(platform="platform/changsha", year=2027, sha256=DIGEST, summary="重报")
    hunan.rejected(lambda: hunan.app.save(again), LifecycleError)

    not_a_platform = WorkPlan.file(platform="member/e1", year=2027, sha256=DIGEST, summary="—")
    hunan.rejected(lambda: hunan.app.save(not_a_platform), LifecycleError)


def test_work_plans_are_not_an_anhui_event(anhui: World) -> None:
    plan = WorkPlan.file(platform="platform/cloud", year=2027, sha256=DIGEST, summary="—")
    anhui.rejected(lambda: anhui.app.save(plan), NotPermittedError)


def test_an_annual_evaluation_once_per_subject_and_year(anhui: World) -> None:
    evaluation = AnnualEvaluation.record(
        actor="org/supervisor", subject="org/operator", year=2026, grade="良好", sha256=DIGEST
    )
    anhui.app.save(evaluation)
    assert "annual-evaluation/org/operator/2026" in anhui.app.repository

    again = AnnualEvaluation.record(
        actor="org/hrss", subject="org/operator", year=2026, grade="优秀", sha256=DIGEST
    )
    anhui.rejected(lambda: anhui.app.save(again), LifecycleError)
    unknown = AnnualEvaluation.record(
        actor="org/supervisor", subject="org/nobody", year=2026, grade="良好", sha256=DIGEST
    )
    anhui.rejected(lambda: anhui.app.save(unknown), LifecycleError)
    by_operator = AnnualEvaluation.record(
        actor="org/operator", subject="org/operator", year=2025, grade="优秀", sha256=DIGEST
    )
    anhui.rejected(lambda: anhui.app.save(by_operator), NotPermittedError)


# -- admin authorisations (AH 27, rule 5) -------------------------------------------------------


def authorise_admin(
    world: World,
    stream: str = "authorisation/a1",
    *,
    actor: str = "org/head",
    admin: str = "org/admin",
    scope: tuple[str, ...] = ("publish_notice", "review_application"),
    valid_until: str = "2026-11-30",
) -> Authorisation:
    authorisation = Authorisation.authorise_admin(
        stream=stream, actor=actor, admin=admin, scope=list(scope), valid_until=valid_until
    )
    world.app.save(authorisation)
    return authorisation


def admin_action(
    world: World,
    stream: str = "admin-action/x1",
    *,
    actor: str = "org/admin",
    authorisation: str = "authorisation/a1",
    action: str = "publish_notice",
) -> AdminAction:
    recorded = AdminAction.record(
        stream=stream,
        actor=actor,
        authorisation=authorisation,
        action=action,
        subject="item/free",
        detail="发布2026年创业补贴申报通知",
    )
    world.app.save(recorded)
    return recorded


def test_an_authorised_admin_acts_within_scope(anhui: World) -> None:
    authorise_admin(anhui)
    admin_action(anhui)
    admin_action(anhui, "admin-action/x2", action="review_application")
    assert "admin-action/x2" in anhui.app.repository
    assert_complies(anhui)


def test_an_admin_action_without_an_authorisation_breaks_rule_5(anhui: World) -> None:
    error = anhui.violates(5, lambda: admin_action(anhui, authorisation="authorisation/none"))
    assert "not an authorisation" in error.problem
    anhui.violates(5, lambda: admin_action(anhui, authorisation="item/i1"))


def test_a_withdrawn_authorisation_breaks_rule_5(anhui: World) -> None:
    authorisation = authorise_admin(anhui)
    authorisation.withdraw(reason="岗位调整")
    anhui.app.save(authorisation)
    error = anhui.violates(5, lambda: admin_action(anhui))
    assert "was withdrawn" in error.problem

    again = load(anhui, "authorisation/a1")
    again.withdraw(reason="再次撤回")
    anhui.rejected(lambda: anhui.app.save(again), LifecycleError)


def test_only_the_grantor_withdraws_an_authorisation(anhui: World) -> None:
    authorisation = authorise_admin(anhui)
    authorisation.trigger_event(
        Authorisation.AuthorisationWithdrawn, actor="org/hrss", reason="越权撤回"
    )
    anhui.rejected(lambda: anhui.app.save(authorisation), LifecycleError)


def test_an_expired_authorisation_breaks_rule_5(anhui: World) -> None:
    authorise_admin(anhui, valid_until="2026-11-30")
    with at(anhui, datetime(2026, 11, 30, 15, 59, tzinfo=UTC)):  # 23:59 in Shanghai
        admin_action(anhui)
    with at(anhui, datetime(2026, 11, 30, 16, 0, tzinfo=UTC)):  # midnight in Shanghai
        error = anhui.violates(5, lambda: admin_action(anhui, "admin-action/x2"))
    assert "expired on 2026-11-30" in error.problem


def test_an_authorisation_of_another_admin_breaks_rule_5(anhui: World) -> None:
    anhui.province.organisation(
        "org/admin2", "另一政务服务管理员", ["government_admin"], parent="org/bureau"
    )
    authorise_admin(anhui, admin="org/admin2")
    error = anhui.violates(5, lambda: admin_action(anhui))
    assert "granted to org/admin2" in error.problem


def test_an_action_outside_the_scope_breaks_rule_5(anhui: World) -> None:
    authorise_admin(anhui, scope=("publish_notice",))
    error = anhui.violates(5, lambda: admin_action(anhui, action="approve_subsidy"))
    assert "approve_subsidy is outside" in error.problem


def test_a_data_sharing_authorisation_does_not_authorise_an_admin(anhui: World) -> None:
    share(anhui, stream="authorisation/a1", grantee="org/admin")
    error = anhui.violates(5, lambda: admin_action(anhui))
    assert "is not an authorisation of admin" in error.problem


@pytest.mark.parametrize("grantor", ["org/hrss", "org/operator", "org/admin"])
def test_only_a_department_head_authorises_an_admin(anhui: World, grantor: str) -> None:
    error = anhui.violates(5, lambda: authorise_admin(anhui, actor=grantor))
    assert f"granted by department_head, not by {grantor}" in error.problem


@pytest.mark.parametrize(
    ("holder", "role"), [("org/admin", "department_head"), ("org/head", "government_admin")]
)
def test_a_head_does_not_authorise_itself(anhui: World, holder: str, role: str) -> None:
    organisation = load(anhui, holder)
    organisation.grant(actor="root", role=role)
    anhui.app.save(organisation)
    error = anhui.violates(5, lambda: authorise_admin(anhui, actor=holder, admin=holder))
    assert f"{holder} cannot authorise itself" in error.problem

    authorise_admin(anhui)  # the head authorises another admin
    admin_action(anhui)
    assert_complies(anhui)


@pytest.mark.parametrize("department", ["org/county-hr", None])
def test_a_head_authorises_only_admins_of_the_own_department(
    anhui: World, department: str | None
) -> None:
    anhui.province.organisation(
        "org/admin2", "市局政务服务管理员", ["government_admin"], parent=department
    )
    error = anhui.violates(5, lambda: authorise_admin(anhui, admin="org/admin2"))
    assert "org/head does not head org/admin2's department" in error.problem
    assert (department or "the admin belongs to none") in error.problem


def test_an_organisation_belongs_to_an_existing_organisation(anhui: World) -> None:
    error = anhui.rejected(
        lambda: anhui.province.organisation(
            "org/admin2", "政务服务管理员", ["government_admin"], parent="org/nowhere"
        ),
        LifecycleError,
    )
    assert "parent organisation 'org/nowhere' does not exist" in str(error)


def test_only_a_government_admin_is_authorised(anhui: World) -> None:
    error = anhui.violates(5, lambda: authorise_admin(anhui, admin="org/operator"))
    assert "org/operator is not a government_admin" in error.problem


def test_an_authorisation_names_a_scope_and_a_validity_not_past(anhui: World) -> None:
    anhui.rejected(lambda: authorise_admin(anhui, valid_until="2026-11-23"), LifecycleError)
    anhui.rejected(lambda: authorise_admin(anhui, scope=()), LifecycleError)


def share(
    world: World,
    stream: str = "authorisation/d1",
    *,
    actor: str = "org/hrss",
    grantee: str = "org/supervisor",
    scope: tuple[str, ...] = ("orders", "evaluations"),
    valid_until: str = "2026-11-30",
) -> Authorisation:
    authorisation = Authorisation.authorise_sharing(
        stream=stream,
        actor=actor,
        grantee=grantee,
        purpose="年度绩效评价",
        scope=list(scope),
        valid_until=valid_until,
    )
    world.app.save(authorisation)
    return authorisation


def export(
    world: World,
    stream: str = "export/x1",
    *,
    authorisation: str | None = "authorisation/d1",
    recipient: str = "org/supervisor",
    scope: tuple[str, ...] = ("orders",),
) -> DataExport:
    exported = DataExport.export(
        stream=stream,
        actor="platform/hub" if world.policy == HUNAN else "org/operator",
        authorisation=authorisation,
        recipient=recipient,
        scope=list(scope),
        records=42,
        sha256=DIGEST,
    )
    world.app.save(exported)
    return exported


def test_an_authorised_export_within_scope(anhui: World) -> None:
    share(anhui)
    export(anhui)
    export(anhui, "export/x2", scope=("orders", "evaluations"))
    assert "export/x2" in anhui.app.repository
    assert_complies(anhui)


def test_an_export_without_an_authorisation_breaks_rule_8(anhui: World) -> None:
    error = anhui.violates(8, lambda: export(anhui, authorisation=None))
    assert "names no data-sharing authorisation" in error.problem
    anhui.violates(8, lambda: export(anhui, authorisation="authorisation/none"))


def test_an_export_under_a_withdrawn_authorisation_breaks_rule_8(anhui: World) -> None:
    authorisation = share(anhui)
    authorisation.withdraw(reason="合作终止")
    anhui.app.save(authorisation)
    error = anhui.violates(8, lambda: export(anhui))
    assert "was withdrawn" in error.problem


def test_an_export_under_an_expired_authorisation_breaks_rule_8(anhui: World) -> None:
    share(anhui, valid_until="2026-11-30")
    with at(anhui, AFTER_NOVEMBER):
        error = anhui.violates(8, lambda: export(anhui))
    assert "expired on 2026-11-30" in error.problem


def test_an_export_to_another_recipient_breaks_rule_8(anhui: World) -> None:
    share(anhui)
    error = anhui.violates(8, lambda: export(anhui, recipient="org/research"))
    assert "granted to org/supervisor" in error.problem


def test_an_export_outside_the_scope_breaks_rule_8(anhui: World) -> None:
    share(anhui, scope=("orders",))
    error = anhui.violates(8, lambda: export(anhui, scope=("orders", "members")))
    assert "members is outside" in error.problem


def test_an_admin_authorisation_does_not_authorise_an_export(anhui: World) -> None:
    authorise_admin(anhui, stream="authorisation/d1")
    error = anhui.violates(8, lambda: export(anhui, recipient="org/admin"))
    assert "is not an authorisation of data sharing" in error.problem


@pytest.mark.parametrize("grantor", ["org/operator", "org/head", "org/county-hr"])
def test_only_the_hr_department_authorises_data_sharing(anhui: World, grantor: str) -> None:
    error = anhui.violates(8, lambda: share(anhui, actor=grantor))
    assert f"authorised only by provincial_hr_department, not by {grantor}" in error.problem


def test_hunan_has_no_data_sharing_rule(hunan: World) -> None:
    export(hunan, authorisation=None, recipient="研究机构")
    assert "export/x1" in hunan.app.repository
