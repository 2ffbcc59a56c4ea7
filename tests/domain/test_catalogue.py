"""What is offered, under the Hunan policy: service items and promotions (HN 6, 7, 8(12), 10).

Rule 7 (no fee on a free public-interest function, HN 7), rule 10 (a promotion changes
only by force majeure, HN 8(12)) and rule 4 (nothing by a barred provider, HN 24), by
command and by an entry the provider signed itself. Each test runs on SQLite and
PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import partial
from typing import Any

import pytest

from ledger.domain.catalogue import Promotion, ServiceItem
from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Provider
from ledger.events import LedgerEvent
from tests.domain.world import ITEM, World, assert_complies, at, client_entry

pytestmark = pytest.mark.usefixtures("events_on_world_time")

FREE_FUNCTION = "法律法规、政策和经济动态等信息发布"  # HN 7(二), a public-interest function
FORCE_MAJEURE = {"description": "暴雨红色预警,线下活动暂停", "evidence_sha256": "cd" * 32}


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def save(world: World, *aggregates: Any) -> None:
    world.app.save(*aggregates)


def publish(
    world: World, stream: str = "item/x", provider: str = "provider/p1", **changes: Any
) -> None:
    fields = {**ITEM, **changes}
    save(world, ServiceItem.publish(stream=stream, actor=provider, provider=provider, **fields))


def announce(world: World, stream: str = "promotion/p1", **changes: Any) -> None:
    terms: dict[str, Any] = {
        "items": ["item/i1"],
        "terms": "首次咨询八折",
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-31",
        **changes,
    }
    save(world, Promotion.announce(stream=stream, actor="provider/p1", **terms))


def on(day: str) -> datetime:
    """Ten in the morning of ``day`` in Shanghai."""
    return datetime.fromisoformat(f"{day}T02:00:00").replace(tzinfo=UTC)


def change_promotion(
    world: World,
    changes: dict[str, Any],
    force_majeure: dict[str, Any] | None = FORCE_MAJEURE,
    stream: str = "promotion/p1",
) -> None:
    promotion: Promotion = load(world, stream)
    promotion.change(actor="provider/p1", changes=changes, force_majeure=force_majeure)
    save(world, promotion)


def end_promotion(
    world: World, force_majeure: dict[str, Any] | None = None, stream: str = "promotion/p1"
) -> None:
    promotion: Promotion = load(world, stream)
    promotion.end(actor="provider/p1", reason="活动结束", force_majeure=force_majeure)
    save(world, promotion)


def change_item(world: World, change: Any, stream: str = "item/i1") -> None:
    item: ServiceItem = load(world, stream)
    change(item)
    save(world, item)


def blacklist(world: World, provider: str = "provider/p1") -> None:
    state: Provider = load(world, provider)
    state.blacklist(actor="platform/hub", reason="虚假宣传 (HN 24)")
    save(world, state)


# -- items -----------------------------------------------------------------------------------


def test_an_item_is_published_updated_and_withdrawn(hunan: World) -> None:
    publish(hunan)
    assert load(hunan, "item/x").fields == ITEM

    item: ServiceItem = load(hunan, "item/x")
    item.update(actor="provider/p1", changes={"fee_fen": 150_000, "time_limit_days": 7})
    save(hunan, item)
    assert load(hunan, "item/x").fields == {**ITEM, "fee_fen": 150_000, "time_limit_days": 7}

    item = load(hunan, "item/x")
    item.withdraw(actor="provider/p1", reason="停止提供")
    save(hunan, item)
    assert load(hunan, "item/x").withdrawn
    assert_complies(hunan)


def test_public_interest_items_are_published_free(hunan: World) -> None:
    publish(hunan, function=FREE_FUNCTION, charge="free", fee_fen=0)
    assert load(hunan, "item/x").free
    assert load(hunan, "item/free").free  # the world's 联络员服务
    assert_complies(hunan)


def test_a_platform_publishes_its_own_items_as_self_operated(hunan: World) -> None:
    """HN 10: an operator that sells services takes on a provider's duties."""
    save(
        hunan,
        ServiceItem.publish(
            stream="item/hub-training",
            actor="platform/hub",
            provider="platform/hub",
            self_operated=True,
            **ITEM,
        ),
    )
    item: ServiceItem = load(hunan, "item/hub-training")
    item.update(actor="platform/hub", changes={"title": "中小企业经营管理培训"})
    save(hunan, item)
    assert load(hunan, "item/hub-training").self_operated
    assert_complies(hunan)


@pytest.mark.parametrize(
    ("actor", "provider", "self_operated"),
    [
        ("platform/hub", "platform/hub", False),  # a platform's item is self-operated
        ("platform/hub", "provider/p1", True),  # a platform publishes only its own
        ("provider/p1", "provider/p1", True),  # a provider's item is not self-operated
        ("platform/changsha", "provider/p1", False),  # nobody publishes for a provider
        ("member/e1", "member/e1", False),  # a member offers nothing
    ],
)
def test_items_are_published_by_whoever_offers_them(
    hunan: World, actor: str, provider: str, self_operated: bool
) -> None:
    item = ServiceItem.publish(
        stream="item/x", actor=actor, provider=provider, self_operated=self_operated, **ITEM
    )
    hunan.rejected(lambda: save(hunan, item), LifecycleError)


@pytest.mark.parametrize(
    ("charge", "fee_fen"),
    [("commercial", 50_000), ("free", 50_000), ("commercial", 0)],
    ids=["commercial-with-fee", "free-with-fee", "marked-commercial"],
)
def test_no_fee_on_a_free_public_interest_function(hunan: World, charge: str, fee_fen: int) -> None:
    error = hunan.violates(
        7, lambda: publish(hunan, function=FREE_FUNCTION, charge=charge, fee_fen=fee_fen)
    )
    assert FREE_FUNCTION in error.problem


@pytest.mark.parametrize(
    ("stream", "changes"),
    [
        ("item/free", {"charge": "commercial", "fee_fen": 10_000}),
        ("item/free", {"fee_fen": 10_000}),
        ("item/i1", {"function": "联络员服务"}),  # a commercial item turned public-interest
    ],
    ids=["charge", "fee", "function"],
)
def test_no_update_puts_a_fee_on_a_free_public_interest_function(
    hunan: World, stream: str, changes: dict[str, Any]
) -> None:
    item: ServiceItem = load(hunan, stream)
    item.update(actor="provider/p1", changes=changes)
    hunan.violates(7, lambda: save(hunan, item))


@pytest.mark.parametrize(
    "fields",
    [
        {"charge": "free", "fee_fen": 100},  # a free item has no fee (not a policy function)
        {"charge": "discounted"},
        {"fee_fen": -1},
        {"fee_fen": "1200"},
    ],
)
def test_an_items_charge_and_fee_agree(hunan: World, fields: dict[str, Any]) -> None:
    hunan.rejected(lambda: publish(hunan, **fields), LifecycleError)


def test_only_the_provider_changes_its_open_item(hunan: World) -> None:
    item: ServiceItem = load(hunan, "item/i1")
    item.update(actor="platform/changsha", changes={"fee_fen": 1})
    hunan.rejected(lambda: save(hunan, item), LifecycleError)
    item = load(hunan, "item/i1")
    item.update(actor="provider/p1", changes={"price": 1})
    hunan.rejected(lambda: save(hunan, item), LifecycleError)

    item = load(hunan, "item/i1")
    item.withdraw(actor="provider/p1", reason="下架")
    save(hunan, item)
    for change in (
        lambda i: i.update(actor="provider/p1", changes={"fee_fen": 1}),
        lambda i: i.withdraw(actor="provider/p1", reason="again"),
    ):
        hunan.rejected(partial(change_item, hunan, change), LifecycleError)


def test_a_barred_provider_neither_publishes_nor_changes_items(hunan: World) -> None:
    blacklist(hunan)
    error = hunan.violates(4, lambda: publish(hunan))
    assert error.problem == "provider provider/p1 is blacklisted"
    for change in (
        lambda i: i.update(actor="provider/p1", changes={"fee_fen": 1}),
        lambda i: i.withdraw(actor="provider/p1", reason="下架"),
    ):
        hunan.violates(4, partial(change_item, hunan, change))


# -- promotions (HN 8(12)) -------------------------------------------------------------------


def test_a_promotion_is_announced_changed_by_force_majeure_and_ended(hunan: World) -> None:
    announce(hunan)
    assert load(hunan, "promotion/p1").plan == {
        "items": ["item/i1"],
        "terms": "首次咨询八折",
        "starts_on": "2026-12-01",
        "ends_on": "2026-12-31",
    }
    change_promotion(hunan, {"ends_on": "2027-01-15"})
    assert load(hunan, "promotion/p1").plan["ends_on"] == "2027-01-15"

    with at(hunan, on("2027-01-15")):
        end_promotion(hunan)
    assert load(hunan, "promotion/p1").ended
    assert_complies(hunan)


def test_every_promoted_term_changes_by_force_majeure(hunan: World) -> None:
    """A change names some of the plan's terms; the rest stand as announced."""
    announce(hunan)
    change_promotion(hunan, {"terms": "首次咨询九折", "items": ["item/i1", "item/free"]})
    change_promotion(hunan, {"starts_on": "2026-12-10", "ends_on": "2026-12-10"})
    assert load(hunan, "promotion/p1").plan == {
        "items": ["item/i1", "item/free"],
        "terms": "首次咨询九折",
        "starts_on": "2026-12-10",
        "ends_on": "2026-12-10",
    }
    assert_complies(hunan)


@pytest.mark.parametrize("day", ["2026-12-31", "2027-01-05"], ids=["on-end-date", "after"])
def test_a_promotion_ends_without_a_basis_once_its_period_is_over(hunan: World, day: str) -> None:
    announce(hunan)
    with at(hunan, on(day)):
        end_promotion(hunan)
    assert load(hunan, "promotion/p1").ended
    assert_complies(hunan)


@pytest.mark.parametrize(
    "day", ["2026-11-24", "2026-12-01", "2026-12-30"], ids=["before-start", "running", "eve"]
)
def test_a_promotion_ends_early_only_by_force_majeure(hunan: World, day: str) -> None:
    """HN 8(12): ending before the announced end date, or calling off a promotion not yet
    begun, changes its plan."""
    announce(hunan)
    with at(hunan, on(day)):
        error = hunan.violates(10, lambda: end_promotion(hunan))
        assert error.problem.startswith(
            f"a promotion planned to end on 2026-12-31 ends early, on {day}, only with a "
            "force-majeure basis"
        )
        assert not load(hunan, "promotion/p1").ended

        end_promotion(hunan, force_majeure=FORCE_MAJEURE)
    assert load(hunan, "promotion/p1").ended
    assert_complies(hunan)


def test_a_promotion_ends_by_the_end_date_of_its_changed_plan(hunan: World) -> None:
    announce(hunan, stream="promotion/longer")
    announce(hunan, stream="promotion/shorter")
    change_promotion(hunan, {"ends_on": "2027-01-15"}, stream="promotion/longer")
    change_promotion(hunan, {"ends_on": "2026-12-20"}, stream="promotion/shorter")
    with at(hunan, on("2026-12-31")):
        error = hunan.violates(10, lambda: end_promotion(hunan, stream="promotion/longer"))
        assert "planned to end on 2027-01-15 ends early, on 2026-12-31" in error.problem
        end_promotion(hunan, stream="promotion/shorter")
    assert not load(hunan, "promotion/longer").ended
    assert load(hunan, "promotion/shorter").ended
    assert_complies(hunan)


@pytest.mark.parametrize(
    "basis",
    [
        None,
        {},
        {"description": "市场变化"},
        {"evidence_sha256": "cd" * 32},
        {"description": "", "evidence_sha256": "cd" * 32},
        {"description": "  ", "evidence_sha256": "cd" * 32},
        {"description": 1, "evidence_sha256": "cd" * 32},
        {"description": "暴雨", "evidence_sha256": "CD" * 32},
        {"description": "暴雨", "evidence_sha256": "cd" * 31},
        {"description": "暴雨", "evidence_sha256": "台风停工通知"},
    ],
    ids=[
        "none",
        "empty",
        "no-evidence",
        "no-description",
        "blank-description",
        "spaces-description",
        "number-description",
        "uppercase-digest",
        "short-digest",
        "not-a-digest",
    ],
)
def test_a_promotion_changes_only_with_a_force_majeure_basis(
    hunan: World, basis: dict[str, Any] | None
) -> None:
    announce(hunan)
    promotion: Promotion = load(hunan, "promotion/p1")
    promotion.change(actor="provider/p1", changes={"terms": "九折"}, force_majeure=basis)
    error = hunan.violates(10, lambda: save(hunan, promotion))
    assert "force-majeure" in error.problem


@pytest.mark.parametrize(
    "terms",
    [
        {"items": ["item/nope"]},
        {"items": []},
        {"starts_on": "2027-01-01", "ends_on": "2026-12-01"},
    ],
    ids=["unknown-item", "no-items", "period-backwards"],
)
def test_a_promotion_names_open_items_and_a_period(hunan: World, terms: dict[str, Any]) -> None:
    hunan.rejected(lambda: announce(hunan, **terms), LifecycleError)


@pytest.mark.parametrize("basis", [None, {"description": "市场变化"}], ids=["none", "no-evidence"])
def test_a_promotion_ends_early_only_with_a_force_majeure_basis(
    hunan: World, basis: dict[str, Any] | None
) -> None:
    announce(hunan)
    error = hunan.violates(10, lambda: end_promotion(hunan, force_majeure=basis))
    assert "force-majeure" in error.problem
    assert not load(hunan, "promotion/p1").ended


@pytest.mark.parametrize(
    ("term", "value"),
    [
        ("starts_on", "延期"),
        ("ends_on", "延期"),
        ("ends_on", "2026/12/31"),
        ("ends_on", "20261231"),
        ("ends_on", "2026-12-31T00:00:00"),
        ("starts_on", "2026-02-30"),
        ("ends_on", ""),
    ],
)
def test_a_promotions_period_is_announced_in_dates(hunan: World, term: str, value: str) -> None:
    error = hunan.rejected(lambda: announce(hunan, **{term: value}), LifecycleError)
    assert isinstance(error, LifecycleError)
    assert error.problem == f"{term} {value!r} is not a date (YYYY-MM-DD)"


def test_a_promotion_ends_on_or_after_its_start(hunan: World) -> None:
    error = hunan.rejected(
        lambda: announce(hunan, starts_on="2026-12-31", ends_on="2026-12-30"), LifecycleError
    )
    assert isinstance(error, LifecycleError)
    assert error.problem == "a promotion ending on 2026-12-30 cannot start on 2026-12-31"
    announce(hunan, starts_on="2026-12-31", ends_on="2026-12-31")  # a one-day promotion
    assert_complies(hunan)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({}, "changes must name promotion terms"),
        ({"price": 1}, "changes must name promotion terms"),
        ({"terms": "九折", "organiser": "provider/p2"}, "changes must name promotion terms"),
        ({"ends_on": "延期"}, "ends_on '延期' is not a date (YYYY-MM-DD)"),
        ({"starts_on": None}, "starts_on None is not a date (YYYY-MM-DD)"),
        ({"ends_on": "2026-11-30"}, "a promotion ending on 2026-11-30 cannot start on 2026-12-01"),
        (
            {"starts_on": "2027-01-01"},
            "a promotion ending on 2026-12-31 cannot start on 2027-01-01",
        ),
        ({"terms": ""}, "a promotion states its terms"),
        ({"terms": 8}, "a promotion states its terms"),
        ({"items": []}, "a promotion names the items it covers"),
        ({"items": "item/i1"}, "a promotion names the items it covers"),
        ({"items": ["item/nope"]}, "service item 'item/nope' does not exist"),
        ({"items": ["item/withdrawn"]}, "item/withdrawn is not an open item of provider/p1"),
    ],
    ids=[
        "nothing",
        "unknown-term",
        "organiser",
        "end-not-a-date",
        "no-start",
        "end-before-start",
        "start-after-end",
        "blank-terms",
        "number-terms",
        "no-items",
        "items-not-a-list",
        "unknown-item",
        "withdrawn-item",
    ],
)
def test_a_change_is_a_valid_plan_even_by_force_majeure(
    hunan: World, changes: dict[str, Any], problem: str
) -> None:
    """What a change says is checked like the announcement it changes, before its basis."""
    publish(hunan, stream="item/withdrawn")
    change_item(hunan, lambda i: i.withdraw(actor="provider/p1", reason="下架"), "item/withdrawn")
    announce(hunan)
    for basis in (FORCE_MAJEURE, None):
        error = hunan.rejected(partial(change_promotion, hunan, changes, basis), LifecycleError)
        assert isinstance(error, LifecycleError)
        assert problem in error.problem, error.problem
    assert load(hunan, "promotion/p1").plan["ends_on"] == "2026-12-31"


def test_a_promotion_is_of_the_organisers_open_items(hunan: World) -> None:
    other = Promotion.announce(
        stream="promotion/hub",
        actor="platform/hub",
        items=["item/i1"],
        terms="x",
        starts_on="2026-12-01",
        ends_on="2026-12-31",
    )
    hunan.rejected(lambda: save(hunan, other), LifecycleError)
    item: ServiceItem = load(hunan, "item/i1")
    item.withdraw(actor="provider/p1", reason="下架")
    save(hunan, item)
    hunan.rejected(lambda: announce(hunan), LifecycleError)


def test_only_the_organiser_changes_its_running_promotion(hunan: World) -> None:
    announce(hunan)
    promotion: Promotion = load(hunan, "promotion/p1")
    promotion.change(actor="platform/changsha", changes={}, force_majeure=FORCE_MAJEURE)
    hunan.rejected(lambda: save(hunan, promotion), LifecycleError)
    promotion = load(hunan, "promotion/p1")
    promotion.end(actor="platform/changsha", reason="结束", force_majeure=FORCE_MAJEURE)
    hunan.rejected(lambda: save(hunan, promotion), LifecycleError)
    end_promotion(hunan, force_majeure=FORCE_MAJEURE)
    for again in (
        partial(change_promotion, hunan, {"terms": "九折"}),
        partial(end_promotion, hunan, FORCE_MAJEURE),
    ):
        error = hunan.rejected(again, LifecycleError)
        assert str(error) == "promotion/p1: has ended"


def test_a_barred_provider_neither_announces_nor_changes_promotions(hunan: World) -> None:
    announce(hunan)
    blacklist(hunan)
    hunan.violates(4, lambda: announce(hunan, stream="promotion/p2"))
    promotion: Promotion = load(hunan, "promotion/p1")
    promotion.change(actor="provider/p1", changes={}, force_majeure=FORCE_MAJEURE)
    hunan.violates(4, lambda: save(hunan, promotion))


# -- entries signed by the provider itself ---------------------------------------------------


def item_body(**changes: Any) -> dict[str, Any]:
    """An ``ItemPublished`` body, as a client would write it."""
    draft = ServiceItem.publish(
        stream="item/draft", actor="provider/p1", provider="provider/p1", **{**ITEM, **changes}
    )
    event = draft.pending_events[0]
    assert isinstance(event, LedgerEvent)
    return event.body()


def test_a_client_signed_item_is_stored_as_signed(hunan: World) -> None:
    entry = client_entry(hunan, "provider/p1", "item/c1", "ItemPublished", item_body())
    stored = hunan.app.submit(entry.raw)
    assert list(hunan.app.entries())[-1] == entry.raw == stored.raw
    assert load(hunan, "item/c1").fields == ITEM
    assert_complies(hunan)


def test_a_client_signed_item_from_a_blacklisted_provider_is_refused_like_a_command(
    hunan: World,
) -> None:
    blacklist(hunan)
    by_command = hunan.violates(4, lambda: publish(hunan, stream="item/c1"))

    entry = client_entry(hunan, "provider/p1", "item/c1", "ItemPublished", item_body())
    by_client = hunan.violates(4, lambda: hunan.app.submit(entry.raw))
    assert (by_client.rule, by_client.article, by_client.problem) == (
        by_command.rule,
        by_command.article,
        by_command.problem,
    )
    assert hunan.app.recorder.select_events("item/c1") == []
    assert_complies(hunan)


def test_a_client_signed_fee_on_a_free_function_is_refused(hunan: World) -> None:
    body = item_body(function=FREE_FUNCTION, fee_fen=50_000)
    entry = client_entry(hunan, "provider/p1", "item/c1", "ItemPublished", body)
    hunan.violates(7, lambda: hunan.app.submit(entry.raw))


def test_a_client_cannot_publish_a_withdrawn_item_afresh(hunan: World) -> None:
    """An item's stream begins once: a second ItemPublished would reset its terms."""
    item: ServiceItem = load(hunan, "item/i1")
    item.withdraw(actor="provider/p1", reason="下架")
    save(hunan, item)
    entry = client_entry(hunan, "provider/p1", "item/i1", "ItemPublished", item_body())
    error = hunan.rejected(lambda: hunan.app.submit(entry.raw), LifecycleError)
    assert "already exists" in str(error)
    assert load(hunan, "item/i1").withdrawn


def test_a_client_signed_early_end_is_refused_like_a_command(hunan: World) -> None:
    announce(hunan)
    by_command = hunan.violates(10, lambda: end_promotion(hunan))

    body = {"reason": "活动结束", "force_majeure": None}
    entry = client_entry(hunan, "provider/p1", "promotion/p1", "PromotionEnded", body)
    by_client = hunan.violates(10, lambda: hunan.app.submit(entry.raw))
    assert by_client.problem == by_command.problem
    assert not load(hunan, "promotion/p1").ended

    entry = client_entry(
        hunan,
        "provider/p1",
        "promotion/p1",
        "PromotionEnded",
        {**body, "force_majeure": FORCE_MAJEURE},
    )
    hunan.app.submit(entry.raw)
    assert load(hunan, "promotion/p1").ended
    assert_complies(hunan)


# -- an item's terms under a promotion (HN 8(12)) --------------------------------------------


@pytest.mark.parametrize(
    "day", ["2026-11-24", "2026-12-01", "2026-12-31"], ids=["announced", "running", "last-day"]
)
@pytest.mark.parametrize(
    "changes",
    [{"fee_fen": 150_000}, {"time_limit_days": 20}, {"title": "管理咨询"}],
    ids=["fee", "time-limit", "title"],
)
def test_a_promoted_items_terms_stand_until_the_promotion_is_over(
    hunan: World, day: str, changes: dict[str, Any]
) -> None:
    """Raising a fee, or changing what is sold, under an announced discount changes the
    promotion's plan de facto."""
    announce(hunan)
    with at(hunan, on(day)):
        update = partial(
            change_item, hunan, lambda i: i.update(actor="provider/p1", changes=changes)
        )
        error = hunan.violates(10, update)
        assert error.problem.startswith(
            "item/i1 is in promotion/p1, planned until 2026-12-31: it is not updated until"
        )
    assert load(hunan, "item/i1").fields == ITEM


def test_an_items_terms_change_once_its_promotion_is_over(hunan: World) -> None:
    announce(hunan, stream="promotion/ended")
    announce(hunan, stream="promotion/past", starts_on="2026-11-24", ends_on="2026-11-30")
    announce(hunan, stream="promotion/other", items=["item/free"])
    end_promotion(hunan, FORCE_MAJEURE, stream="promotion/ended")
    with at(hunan, on("2026-12-01")):
        change_item(hunan, lambda i: i.update(actor="provider/p1", changes={"fee_fen": 150_000}))
    assert load(hunan, "item/i1").fields["fee_fen"] == 150_000
    assert_complies(hunan)


def test_a_changed_scope_moves_what_a_promotion_holds(hunan: World) -> None:
    announce(hunan, items=["item/free"])
    change_promotion(hunan, {"items": ["item/i1"]})
    update = partial(
        change_item, hunan, lambda i: i.update(actor="provider/p1", changes={"fee_fen": 1})
    )
    hunan.violates(10, update)
    free = partial(
        change_item,
        hunan,
        lambda i: i.update(actor="provider/p1", changes={"title": "政策"}),
        "item/free",
    )
    free()
    assert load(hunan, "item/free").fields["title"] == "政策"
    assert_complies(hunan)


def test_a_client_signed_update_under_a_promotion_is_refused_like_a_command(hunan: World) -> None:
    announce(hunan)
    body = {"changes": {"fee_fen": 150_000}}
    entry = client_entry(hunan, "provider/p1", "item/i1", "ItemUpdated", body)
    error = hunan.violates(10, lambda: hunan.app.submit(entry.raw))
    assert "promotion/p1" in error.problem


def test_a_promoted_item_is_not_withdrawn_to_be_published_again(hunan: World) -> None:
    announce(hunan)
    withdraw = partial(change_item, hunan, lambda i: i.withdraw(actor="provider/p1", reason="下架"))
    error = hunan.violates(10, withdraw)
    assert "item/i1 is in promotion/p1" in error.problem
    assert "it is not withdrawn until the promotion is over" in error.problem


def test_a_promotion_and_an_update_in_one_batch_are_judged_in_order(hunan: World) -> None:
    """The write path sees the batch's own promotion, as the replay does."""
    promotion = Promotion.announce(
        stream="promotion/p1",
        actor="provider/p1",
        items=["item/i1"],
        terms="首次咨询八折",
        starts_on="2026-12-01",
        ends_on="2026-12-31",
    )
    item: ServiceItem = load(hunan, "item/i1")
    item.update(actor="provider/p1", changes={"fee_fen": 999_999})
    error = hunan.violates(10, lambda: save(hunan, promotion, item))
    assert "item/i1 is in promotion/p1" in error.problem
