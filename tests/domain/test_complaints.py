"""Complaints under the Hunan policy: registered always (HN 19(3)), mediated by the platform
that onboarded the respondent, then by the local authority if that fails (HN 19(4)),
resolved and closed with the complainant's feedback. Each test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.core.errors import LedgerError
from ledger.domain.complaints import Complaint
from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.registration import Member
from ledger.domain.services import ServiceRecord
from tests.domain.world import World, assert_complies, at

COMPLAINT = "complaint/c1"


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


def at_platform(world: World) -> None:
    """Registered, acknowledged and in mediation at the onboarding platform."""
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-2026-001"))
    step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))


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


# -- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "registration",
    [
        {"actor": "member/e2"},  # on someone else's behalf
        {"respondent": "provider/nope"},
        {"about": "service/nope"},
    ],
)
def test_a_complaint_is_the_complainants_against_a_known_respondent(
    world: World, registration: dict[str, Any]
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
    world.rejected(lambda: save(world, complaint), LifecycleError)


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
    error_hub = load(world)
    error_hub.mediate(actor="platform/hub", level="platform")
    error = world.rejected(lambda: save(world, error_hub), LifecycleError)
    assert "platform/changsha, which onboarded the respondent" in str(error)
    refused(world, lambda c: c.mediate(actor="platform/changsha", level="arbitration"))
    refused(world, lambda c: c.mediate(actor="provider/p1", level="platform"), NotPermittedError)


def test_the_authority_mediates_only_after_the_platform_failed(world: World) -> None:
    register(world)
    step(world, lambda c: c.acknowledge(actor="platform/changsha", reference="CS-1"))
    refused(world, lambda c: c.mediate(actor="org/changsha", level="authority"))
    step(world, lambda c: c.mediate(actor="platform/changsha", level="platform"))
    refused(world, lambda c: c.mediate(actor="org/changsha", level="authority"))  # still on
    step(world, lambda c: c.mediation_failed(reason="未达成一致"))
    refused(  # the city or county authority mediates, not the province (HN 19(4))
        world, lambda c: c.mediate(actor="org/province", level="authority"), NotPermittedError
    )


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
