"""A window platform terminates under the Hunan policy (HN 8(10), rule 11): a public notice
at least three months ahead, every provider it onboarded and member it registered
notified, and only then, on or after the effective day, the termination. Days are
Asia/Shanghai days. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.registration import Platform
from tests.domain.world import World, assert_complies, at

WINDOW = "platform/changsha"
PARTIES = ["provider/p1", "member/e1", "member/e2"]  # onboarded by, registered with, the window
NOTICE_AT = datetime(2027, 1, 4, 2, 0, tzinfo=UTC)  # 10:00 on 4 January in Shanghai
EFFECTIVE = date(2027, 4, 4)  # exactly three months later
ON_EFFECTIVE_DAY = datetime(2027, 4, 4, 2, 0, tzinfo=UTC)
ANNOUNCEMENT = "ee" * 32


def load(world: World) -> Platform:
    found: Platform = world.app.repository.get(WINDOW)
    return found


def save(world: World, *aggregates: Any) -> None:
    world.app.save(*aggregates)


def give_notice(world: World, effective_on: date = EFFECTIVE, when: datetime = NOTICE_AT) -> None:
    with at(world, when):
        window = load(world)
        window.give_notice(effective_on=effective_on, announcement_sha256=ANNOUNCEMENT)
        save(world, window)


def notify(world: World, parties: list[str], when: datetime = NOTICE_AT) -> None:
    with at(world, when):
        window = load(world)
        for party in parties:
            window.notify(party=party, channel="短信及站内信")
        save(world, window)


def terminate(world: World, when: datetime = ON_EFFECTIVE_DAY) -> None:
    with at(world, when):
        window = load(world)
        window.terminate(reason="运营机构撤销,停止提供窗口服务")
        save(world, window)


def register_member(world: World, stream: str, platform: str = WINDOW) -> None:
    world.province.enterprise(
        stream,
        by=platform,
        platform=platform,
        name="株洲动力机械有限公司",
        credit_code="91430200MA4L00000L",
        contact={"name": "赵强", "phone": "13800000003"},
    )


def test_a_window_gives_notice_notifies_every_party_and_terminates(hunan: World) -> None:
    assert sorted(hunan.app.parties_of(WINDOW)) == sorted(PARTIES)
    give_notice(hunan)
    assert load(hunan).notice is not None
    notify(hunan, PARTIES[:1])
    notify(hunan, PARTIES[1:], when=datetime(2027, 1, 5, 2, 0, tzinfo=UTC))
    assert load(hunan).notified == set(PARTIES)

    terminate(hunan)
    window = load(hunan)
    assert (window.status, window.barred) == ("terminated", "terminated")
    assert_complies(hunan)

    # a terminated window does nothing more, not even terminate again
    with at(hunan, ON_EFFECTIVE_DAY):
        hunan.violates(4, lambda: register_member(hunan, "member/e3"))
        window = load(hunan)
        window.terminate(reason="again")
        hunan.violates(4, lambda: save(hunan, window))


def test_no_termination_without_notice(hunan: World) -> None:
    error = hunan.violates(11, lambda: terminate(hunan))
    assert "without a prior notice" in error.problem


@pytest.mark.parametrize(
    ("when", "effective_on"),
    [
        (NOTICE_AT, date(2027, 4, 3)),  # a day short
        (NOTICE_AT, date(2027, 2, 4)),
        (NOTICE_AT, NOTICE_AT.date()),
        # 17:00 UTC on 3 January is 01:00 on 4 January in Shanghai: the notice is of the 4th
        (datetime(2027, 1, 3, 17, 0, tzinfo=UTC), date(2027, 4, 3)),
    ],
    ids=["one-day-short", "one-month", "same-day", "shanghai-day"],
)
def test_the_notice_is_at_least_three_months_ahead(
    hunan: World, when: datetime, effective_on: date
) -> None:
    error = hunan.violates(11, lambda: give_notice(hunan, effective_on, when))
    assert "less than 3 months" in error.problem


def test_three_months_run_to_the_same_day_or_the_months_last(hunan: World) -> None:
    give_notice(hunan, date(2027, 5, 31), datetime(2027, 2, 28, 2, 0, tzinfo=UTC))
    assert_complies(hunan)


@pytest.mark.parametrize(
    "when",
    [
        datetime(2027, 4, 3, 2, 0, tzinfo=UTC),
        datetime(2027, 4, 3, 15, 59, tzinfo=UTC),  # 23:59 on 3 April in Shanghai
    ],
)
def test_no_termination_before_the_effective_day(hunan: World, when: datetime) -> None:
    give_notice(hunan)
    notify(hunan, PARTIES)
    error = hunan.violates(11, lambda: terminate(hunan, when))
    assert "gave notice to terminate on 2027-04-04" in error.problem
    terminate(hunan, datetime(2027, 4, 3, 16, 0, tzinfo=UTC))  # midnight in Shanghai
    assert_complies(hunan)


def test_no_termination_before_every_party_is_notified(hunan: World) -> None:
    give_notice(hunan)
    notify(hunan, ["provider/p1", "member/e1"])
    error = hunan.violates(11, lambda: terminate(hunan))
    assert "1 affected parties were not notified, e.g. member/e2" in error.problem


def test_a_party_that_joined_after_the_notice_is_notified_too(hunan: World) -> None:
    give_notice(hunan)
    notify(hunan, PARTIES)
    with at(hunan, datetime(2027, 2, 1, 2, 0, tzinfo=UTC)):
        register_member(hunan, "member/e3")
    hunan.violates(11, lambda: terminate(hunan))
    notify(hunan, ["member/e3"], when=datetime(2027, 2, 1, 3, 0, tzinfo=UTC))
    terminate(hunan)
    assert_complies(hunan)


def test_parties_are_notified_once_after_the_notice(hunan: World) -> None:
    register_member(hunan, "member/elsewhere", platform="platform/hub")
    hunan.rejected(lambda: notify(hunan, ["member/e1"]), LifecycleError)  # no notice yet
    give_notice(hunan)
    notify(hunan, ["member/e1"])
    hunan.rejected(lambda: notify(hunan, ["member/e1"]), LifecycleError)
    error = hunan.rejected(lambda: notify(hunan, ["member/elsewhere"]), LifecycleError)
    assert "not a party of this platform" in str(error)
    hunan.rejected(lambda: give_notice(hunan, date(2027, 6, 30)), LifecycleError)  # once


def test_the_effective_day_is_a_date(hunan: World) -> None:
    with at(hunan, NOTICE_AT):
        window = load(hunan)
        window.trigger_event(
            Platform.PlatformTerminationNoticed,
            actor=WINDOW,
            effective_on="三个月后",
            announcement_sha256=ANNOUNCEMENT,
        )
        hunan.rejected(lambda: save(hunan, window), LifecycleError)


@pytest.mark.parametrize(
    ("event", "body"),
    [
        (
            Platform.PlatformTerminationNoticed,
            {"effective_on": "2027-12-31", "announcement_sha256": ANNOUNCEMENT},
        ),
        (Platform.PlatformTerminated, {"reason": "x"}),
    ],
    ids=["notice", "termination"],
)
def test_only_the_platform_itself_gives_notice_and_terminates(
    hunan: World, event: Any, body: dict[str, Any]
) -> None:
    if event is Platform.PlatformTerminated:  # everything else in order
        give_notice(hunan)
        notify(hunan, PARTIES)
    with at(hunan, ON_EFFECTIVE_DAY):
        window = load(hunan)
        window.trigger_event(event, actor="platform/hub", **body)
        hunan.rejected(lambda: save(hunan, window), NotPermittedError)
