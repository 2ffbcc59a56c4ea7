"""Service records with their evidence, corrections and evaluations, under the Hunan policy
(HN 7, 19(2), 23, 24).

Rule 7 (no fee on a free service), rule 9 (an evaluation by the recipient, once), rule 4
(no record involving a barred provider) and rule 13 (a correction names an earlier
event). Every test runs at the world's clock, 2026-11-24 10:00 in Shanghai, on SQLite
and on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.core.envelope import decode_entry
from ledger.domain.catalogue import ServiceItem
from ledger.domain.errors import LifecycleError, RuleViolationError
from ledger.domain.registration import Member, Platform, Provider
from ledger.domain.services import ServiceRecord
from ledger.domain.trading import Order
from tests.domain.world import (
    ITEM,
    World,
    assert_complies,
    at,
    client_entry,
    network_provider,
)

FEE = 120_000  # item/i1's fee


@pytest.fixture
def world(hunan: World) -> Iterator[World]:
    with at(hunan, hunan.now[0]):
        yield hunan


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def save(world: World, *aggregates: Any) -> None:
    world.app.save(*aggregates)


def evidence(kind: str = "合同", n: int = 1, basis_date: str = "2026-11-20") -> dict[str, Any]:
    return {
        "type": kind,
        "sha256": f"{n:064x}",
        "basis_date": basis_date,
        "media_type": "application/pdf",
        "size": 2048,
    }


def record(
    world: World,
    stream: str = "service/s1",
    *,
    actor: str = "platform/changsha",
    platform: str = "platform/changsha",
    provider: str = "provider/p1",
    item: str = "item/i1",
    enterprises: list[str] | None = None,
    charge: str = "commercial",
    fee_fen: int = FEE,
    proof: list[dict[str, Any]] | None = None,
) -> ServiceRecord:
    made = ServiceRecord.record(
        policy=world.app.policy,
        stream=stream,
        actor=actor,
        provider=provider,
        platform=platform,
        item=item,
        enterprises=enterprises or ["member/e1", "member/e2"],
        channel="offline",
        charge=charge,
        fee_fen=fee_fen,
        evidence=proof or [evidence()],
    )
    save(world, made)
    return made


def evaluate(world: World, enterprise: str, *, actor: str | None = None, score: int = 5) -> None:
    service: ServiceRecord = load(world, "service/s1")
    service.trigger_event(
        ServiceRecord.ServiceEvaluated,
        actor=actor or enterprise,
        enterprise=enterprise,
        score=score,
        comment="服务专业,响应及时",
    )
    save(world, service)


def third_member(world: World, *, verify: bool = True) -> Member:
    return world.province.enterprise(
        "member/e3",
        by="platform/changsha",
        platform="platform/changsha",
        name="株洲动力机械有限公司",
        credit_code="91430200MA4L00000L",
        contact={"name": "赵强", "phone": "13800000003"},
        verify=verify,
    )


def last_body(world: World) -> dict[str, Any]:
    return dict(decode_entry(list(world.app.entries())[-1]).envelope.body)


# -- the happy path --------------------------------------------------------------------------


def test_a_service_is_recorded_with_evidence_corrected_and_evaluated(world: World) -> None:
    record(world)
    deadline = last_body(world)["deadline"]
    assert (deadline["basis_date"], deadline["working_days"]) == ("2026-11-20", 5)

    service: ServiceRecord = load(world, "service/s1")
    service.attach_evidence(
        actor="provider/p1",
        evidence=[evidence("现场照片", 2), evidence("服务签名表", 3)],
        reason="现场照片与签到表补传",
    )
    save(world, service)
    assert last_body(world)["corrects"] == 1

    service = load(world, "service/s1")
    service.evaluate(enterprise="member/e1", score=5, comment="满意")
    save(world, service)
    service = load(world, "service/s1")
    service.evaluate(enterprise="member/e2", score=3, comment="一般")
    save(world, service)
    assert load(world, "service/s1").evaluated_by == {"member/e1", "member/e2"}
    assert_complies(world)


def test_a_provider_records_its_own_free_public_interest_service(world: World) -> None:
    record(world, actor="provider/p1", item="item/free", charge="free", fee_fen=0)
    assert_complies(world)


# -- rule 13: corrections --------------------------------------------------------------------


def correction(world: World, corrects: Any) -> ServiceRecord:
    record(world)
    service: ServiceRecord = load(world, "service/s1")
    service.trigger_event(
        ServiceRecord.EvidenceAttached,
        actor="platform/changsha",
        corrects=corrects,
        evidence=[evidence("现场照片", 2)],
        reason="补传",
    )
    return service


@pytest.mark.parametrize("corrects", [0, 2, 7, -1])
def test_a_correction_names_an_earlier_event_of_its_record(world: World, corrects: int) -> None:
    service = correction(world, corrects)
    error = world.rejected(lambda: save(world, service))
    assert isinstance(error, RuleViolationError)
    # a ledger invariant: the Hunan pack lists rule 13 without articles of its own
    assert (error.rule, error.article) == (13, "ledger")
    assert "versions 1..1" in error.problem


@pytest.mark.parametrize("corrects", [True, "1", None])
def test_a_correction_names_its_event_by_version_number(world: World, corrects: Any) -> None:
    service = correction(world, corrects)
    error = world.rejected(lambda: save(world, service), LifecycleError)
    assert f"EvidenceAttached is malformed: corrects must be an integer, got {corrects!r}" in str(
        error
    )


def test_evidence_is_attached_by_whoever_recorded_the_service(world: World) -> None:
    record(world)
    service: ServiceRecord = load(world, "service/s1")
    service.attach_evidence(actor="platform/hub", evidence=[evidence("现场照片", 2)], reason="x")
    world.rejected(lambda: save(world, service), LifecycleError)


# -- rule 9: evaluations ---------------------------------------------------------------------


def test_an_evaluation_comes_from_the_recipient_not_on_its_behalf(world: World) -> None:
    record(world)
    error = world.violates(9, lambda: evaluate(world, "member/e1", actor="member/e2"))
    assert "on behalf of member/e1" in error.problem


@pytest.mark.parametrize("outsider", ["member/e3", "provider/p1", "platform/changsha"])
def test_only_an_enterprise_served_evaluates(world: World, outsider: str) -> None:
    third_member(world)
    record(world)
    error = world.violates(9, lambda: evaluate(world, outsider))
    assert "did not receive this service" in error.problem


def test_each_recipient_evaluates_once(world: World) -> None:
    record(world)
    evaluate(world, "member/e1")
    error = world.violates(9, lambda: evaluate(world, "member/e1", score=1))
    assert "already evaluated" in error.problem
    evaluate(world, "member/e2")  # the other recipient still may
    assert_complies(world)


@pytest.mark.parametrize("score", [0, 6, "5", True])
def test_a_score_is_on_the_policy_scale(world: World, score: Any) -> None:
    record(world)
    world.rejected(lambda: evaluate(world, "member/e1", score=score), LifecycleError)


def test_no_service_is_recorded_for_an_unverified_or_blacklisted_member(world: World) -> None:
    third_member(world, verify=False)
    error = world.violates(1, lambda: record(world, enterprises=["member/e1", "member/e3"]))
    assert "member/e3 has not been real-name verified" in error.problem
    member: Member = load(world, "member/e2")
    member.blacklist(actor="platform/hub", reason="刷单")
    save(world, member)
    error = world.violates(4, lambda: record(world, enterprises=["member/e2"]))
    assert "member member/e2 is blacklisted" in error.problem


def test_a_blacklisted_recipient_does_not_evaluate(world: World) -> None:
    record(world, enterprises=["member/e1", "member/e2"])
    member: Member = load(world, "member/e1")
    member.blacklist(actor="platform/hub", reason="刷单")
    save(world, member)
    world.violates(4, lambda: evaluate(world, "member/e1"))


def test_a_client_signed_evaluation_is_checked_like_a_command(world: World) -> None:
    record(world)
    body = {"enterprise": "member/e1", "score": 4, "comment": "较满意"}
    first = client_entry(world, "member/e1", "service/s1", "ServiceEvaluated", body)
    world.app.submit(first.raw)
    again = client_entry(world, "member/e1", "service/s1", "ServiceEvaluated", body)
    world.violates(9, lambda: world.app.submit(again.raw))
    assert_complies(world)


def test_an_unknown_service_is_not_evaluated(world: World) -> None:
    body = {"enterprise": "member/e1", "score": 5, "comment": "x"}
    entry = client_entry(world, "member/e1", "service/nope", "ServiceEvaluated", body)
    error = world.rejected(lambda: world.app.submit(entry.raw), LifecycleError)
    assert "does not exist" in str(error)


# -- rule 7: free services -------------------------------------------------------------------


def test_no_fee_on_a_free_public_interest_service(world: World) -> None:
    """item/free is 联络员服务, one of HN 7's public-interest functions."""
    error = world.violates(
        7, lambda: record(world, item="item/free", charge="commercial", fee_fen=5_000)
    )
    assert "联络员服务 is a free service" in error.problem


def test_no_fee_on_a_free_item(world: World) -> None:
    free: dict[str, Any] = {**ITEM, "charge": "free", "fee_fen": 0}  # not an HN 7 function
    save(
        world,
        ServiceItem.publish(stream="item/f2", actor="provider/p1", provider="provider/p1", **free),
    )
    error = world.violates(
        7, lambda: record(world, item="item/f2", charge="commercial", fee_fen=5_000)
    )
    assert "item/f2 is free" in error.problem


# -- rules 2 and 4: the provider of a record -------------------------------------------------


def sanction(world: World, step: str) -> None:
    provider: Provider = load(world, "provider/p1")
    getattr(provider, step)(actor="platform/hub", reason="HN 24")
    save(world, provider)


@pytest.mark.parametrize(("step", "rule"), [("blacklist", 4), ("suspend", 2)])
def test_no_record_or_order_involves_a_barred_or_suspended_provider(
    world: World, step: str, rule: int
) -> None:
    sanction(world, step)
    error = world.violates(rule, lambda: record(world))  # recorded by the platform
    assert "provider/p1" in error.problem
    order = Order.create(
        stream="order/o1",
        buyer="member/e1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=FEE,
    )
    world.violates(rule, lambda: save(world, order))


# -- what a record must say ------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"actor": "platform/hub"},  # neither the record's platform nor its provider
        {"item": "item/nope"},
        {"enterprises": ["member/e1", "member/e1"]},
        {"enterprises": ["enterprise/unknown"]},
        {"proof": [evidence("照片")]},  # not an HN 23 evidence type
        {"proof": [evidence(basis_date="2026-11-25")]},  # after the day it is recorded
        {"proof": [{**evidence(), "sha256": "X" * 64}]},
        {"proof": [{**evidence(), "size": 0}]},
        {"proof": [{**evidence(), "note": "extra"}]},
    ],
)
def test_a_record_names_its_parties_item_and_evidence(
    world: World, changes: dict[str, Any]
) -> None:
    world.rejected(lambda: record(world, **changes), LifecycleError)


def test_a_record_of_a_withdrawn_item_is_refused(world: World) -> None:
    item: ServiceItem = load(world, "item/i1")
    item.withdraw(actor="provider/p1", reason="下架")
    save(world, item)
    world.rejected(lambda: record(world), LifecycleError)


def test_a_record_carries_the_calendars_deadline(world: World) -> None:
    made = ServiceRecord._create(
        ServiceRecord.ServiceRecorded,
        id="service/s1",
        actor="platform/changsha",
        provider="provider/p1",
        platform="platform/changsha",
        item="item/i1",
        enterprises=["member/e1"],
        channel="offline",
        charge="commercial",
        fee_fen=FEE,
        evidence=[evidence()],
        deadline=None,
    )
    world.rejected(lambda: save(world, made), LifecycleError)


def test_a_service_is_recorded_through_the_providers_branch_of_the_network(world: World) -> None:
    world.province.enrol("platform/zhuzhou")
    window = Platform.apply_for(
        stream="platform/zhuzhou",
        actor="platform/zhuzhou",
        name="株洲市综合窗口",
        level="city",
        parent="platform/hub",
        region="430200",
    )
    window.recommend(actor="org/zhuzhou")
    window.certify(actor="org/province", certificate="HN-WIN-2")
    save(world, window)
    error = world.rejected(
        lambda: record(world, actor="platform/zhuzhou", platform="platform/zhuzhou"),
        LifecycleError,
    )
    assert "platform/zhuzhou is neither above nor beneath platform/changsha" in str(error)
    record(world, actor="platform/hub", platform="platform/hub")  # the hub, above it
    assert_complies(world)


def test_a_window_records_the_services_of_a_provider_of_the_whole_network(world: World) -> None:
    network_provider(world)
    world.province.item("item/net", provider="provider/net", **ITEM)
    record(world, provider="provider/net", item="item/net")  # through platform/changsha
    assert_complies(world)
