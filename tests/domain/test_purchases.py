"""Government purchases on Anhui's cloud platform (AH 18): consented to by 省财政厅 and
省人社厅, placed by the purchasing department only, within their budget.

AH 18: 市、县(区)财政、人力资源社会保障部门及政府其他部门经省财政厅、省人社厅同意,可以通过云平台
购买服务成果提供给特定用户群. Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from ledger.compliance import check_compliance
from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.trading import GovernmentPurchase, Order
from tests.domain.world import World, assert_complies, client_entry

PRICE = 120_000  # item/i1's fee
BUDGET = 300_000
DEPARTMENT = "org/county-hr"
CONSENTS = {"org/finance": "皖财函〔2026〕8号", "org/hrss": "皖人社函〔2026〕12号"}  # noqa: RUF001


pytestmark = pytest.mark.usefixtures("events_on_world_time")


@pytest.fixture
def anhui(anhui: World) -> World:
    """Anhui's world with its provincial finance department, the second consent of AH 18."""
    anhui.province.organisation("org/finance", "安徽省财政厅", ["provincial_finance_department"])
    return anhui


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def request(world: World, stream: str = "purchase/g1", *, budget_fen: int = BUDGET) -> None:
    world.app.save(
        GovernmentPurchase.request(
            stream=stream,
            department=DEPARTMENT,
            purpose="为返乡创业人员购买创业辅导",
            budget_fen=budget_fen,
        )
    )


def approve(world: World, *approvers: str, stream: str = "purchase/g1") -> None:
    for approver in approvers:
        purchase = load(world, stream)
        purchase.approve(actor=approver, approval_ref=CONSENTS.get(approver, "同意"))
        world.app.save(purchase)


def approved(world: World, stream: str = "purchase/g1", *, budget_fen: int = BUDGET) -> None:
    request(world, stream, budget_fen=budget_fen)
    approve(world, *CONSENTS, stream=stream)


def department_order(
    stream: str = "order/g1-1",
    *,
    buyer: str = DEPARTMENT,
    price_fen: int = PRICE,
    purchase: str | None = "purchase/g1",
) -> Order:
    return Order.create(
        stream=stream,
        buyer=buyer,
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=price_fen,
        purchase=purchase,
    )


def place(
    world: World,
    stream: str = "order/g1-1",
    *,
    price_fen: int = PRICE,
    purchase: str = "purchase/g1",
) -> Order:
    """The department places an order under ``purchase``: the purchase, then the order."""
    held = load(world, purchase)
    order = department_order(stream, price_fen=price_fen, purchase=purchase)
    held.place(order)
    world.app.save(held, order)
    return order


# -- happy paths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("first", list(CONSENTS))
def test_a_purchase_consented_to_by_both_is_ordered_paid_and_completed(
    anhui: World, first: str
) -> None:
    request(anhui)
    approve(anhui, first, *(a for a in CONSENTS if a != first))
    assert load(anhui, "purchase/g1").approvals == CONSENTS

    order = place(anhui)
    order.initiate_payment(method="财政支付")
    order.settle(actor="org/operator", payment_ref="CZ-2026-001")
    order.complete()
    order.issue_receipt(receipt_no="FP-G1")
    anhui.app.save(order)
    stored = load(anhui, "order/g1-1")
    assert (stored.status, stored.purchase, stored.receipted_fen) == (
        "completed",
        "purchase/g1",
        PRICE,
    )
    purchase = load(anhui, "purchase/g1")
    assert (purchase.orders, purchase.ordered_fen) == ({"order/g1-1": PRICE}, PRICE)
    assert_complies(anhui)


def test_orders_under_a_purchase_may_use_up_its_budget_exactly(anhui: World) -> None:
    approved(anhui)
    place(anhui, "order/g1-1")
    place(anhui, "order/g1-2", price_fen=BUDGET - PRICE)
    purchase = load(anhui, "purchase/g1")
    assert purchase.ordered_fen == BUDGET
    assert purchase.orders == {"order/g1-1": PRICE, "order/g1-2": BUDGET - PRICE}
    assert_complies(anhui)


# -- consent of both provincial departments ------------------------------------------------------


@pytest.mark.parametrize(
    ("approvers", "missing"),
    [
        ((), "provincial_finance_department, provincial_hr_department"),
        (("org/hrss",), "provincial_finance_department"),
        (("org/finance",), "provincial_hr_department"),
    ],
)
def test_an_order_under_a_purchase_not_consented_to_by_both_is_refused(
    anhui: World, approvers: tuple[str, ...], missing: str
) -> None:
    request(anhui)
    approve(anhui, *approvers)
    error = anhui.rejected(lambda: place(anhui), LifecycleError)
    assert (
        f"purchase/g1: is not an approved purchase of {DEPARTMENT}: "
        f"the consent of {missing} is missing (AH 18)"
    ) in str(error)
    assert "order/g1-1" not in anhui.app.repository

    # the order alone, without placing it on the purchase, is refused for the same reason
    error = anhui.rejected(lambda: anhui.app.save(department_order()), LifecycleError)
    assert "is not an approved purchase" in str(error)


def test_one_consent_is_given_once(anhui: World) -> None:
    request(anhui)
    approve(anhui, "org/hrss")
    again = load(anhui, "purchase/g1")
    again.approve(actor="org/hrss", approval_ref="重复")
    error = anhui.rejected(lambda: anhui.app.save(again), LifecycleError)
    assert "org/hrss already approved it" in str(error)

    # another body of the same role gives no second consent of 省人社厅
    anhui.province.organisation("org/hrss-2", "省人社厅另一处室", ["provincial_hr_department"])
    other = load(anhui, "purchase/g1")
    other.approve(actor="org/hrss-2", approval_ref="另批")
    error = anhui.rejected(lambda: anhui.app.save(other), LifecycleError)
    assert "the consent of provincial_hr_department was already given" in str(error)


def test_only_the_provincial_departments_consent(anhui: World) -> None:
    request(anhui)
    purchase = load(anhui, "purchase/g1")
    purchase.approve(actor="org/operator", approval_ref="运营商同意")
    error = anhui.rejected(lambda: anhui.app.save(purchase), NotPermittedError)
    assert "provincial_finance_department, provincial_hr_department" in str(error)

    own = load(anhui, "purchase/g1")
    own.approve(actor=DEPARTMENT, approval_ref="自批")
    error = anhui.rejected(lambda: anhui.app.save(own), LifecycleError)
    assert "a department does not approve its own purchase" in str(error)


# -- a department buys only under its own purchase -----------------------------------------------


def test_a_department_does_not_buy_without_a_purchase(anhui: World) -> None:
    error = anhui.rejected(lambda: anhui.app.save(department_order(purchase=None)), LifecycleError)
    assert (
        f"{DEPARTMENT} is a government body: it buys only under an approved government "
        "purchase (AH 18)"
    ) in str(error)


def test_a_department_does_not_buy_under_another_departments_purchase(anhui: World) -> None:
    approved(anhui)
    error = anhui.rejected(
        lambda: anhui.app.save(department_order(buyer="org/bureau")), LifecycleError
    )
    assert f"purchase/g1 is a purchase of {DEPARTMENT}, not of org/bureau" in str(error)

    member = Order.create(
        stream="order/m1",
        buyer="member/u1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        purchase="purchase/g1",
    )
    error = anhui.rejected(lambda: anhui.app.save(member), LifecycleError)
    assert f"purchase/g1 is a purchase of {DEPARTMENT}, not of member/u1" in str(error)


def test_only_the_department_places_orders_on_its_purchase(anhui: World) -> None:
    approved(anhui)
    purchase = load(anhui, "purchase/g1")
    purchase.trigger_event(
        GovernmentPurchase.PurchaseOrderPlaced, actor="org/bureau", order="order/x", amount_fen=1
    )
    error = anhui.rejected(lambda: anhui.app.save(purchase), LifecycleError)
    assert f"its orders are placed by {DEPARTMENT}" in str(error)


def test_an_order_not_placed_on_its_purchase_is_refused(anhui: World) -> None:
    approved(anhui)
    error = anhui.rejected(lambda: anhui.app.save(department_order()), LifecycleError)
    assert (
        f"purchase/g1 did not place this order for {PRICE} fen: its PurchaseOrderPlaced is "
        "written first, in the same batch"
    ) in str(error)

    # placed for less than the order costs: the budget would not see the difference
    purchase = load(anhui, "purchase/g1")
    order = department_order()
    purchase.trigger_event(
        GovernmentPurchase.PurchaseOrderPlaced,
        actor=DEPARTMENT,
        order="order/g1-1",
        amount_fen=PRICE - 1,
    )
    error = anhui.rejected(lambda: anhui.app.save(purchase, order), LifecycleError)
    assert f"did not place this order for {PRICE} fen" in str(error)


def test_an_order_is_placed_once(anhui: World) -> None:
    approved(anhui)
    place(anhui)
    purchase = load(anhui, "purchase/g1")
    purchase.trigger_event(
        GovernmentPurchase.PurchaseOrderPlaced,
        actor=DEPARTMENT,
        order="order/g1-1",
        amount_fen=PRICE,
    )
    error = anhui.rejected(lambda: anhui.app.save(purchase), LifecycleError)
    assert "order/g1-1 was already placed" in str(error)


def test_an_existing_order_is_not_placed_afterwards(anhui: World) -> None:
    approved(anhui)
    anhui.app.save(
        Order.create(
            stream="order/m1",
            buyer="member/u1",
            item="item/i1",
            provider="provider/p1",
            channel="online",
            price_fen=PRICE,
        )
    )
    purchase = load(anhui, "purchase/g1")
    purchase.trigger_event(
        GovernmentPurchase.PurchaseOrderPlaced, actor=DEPARTMENT, order="order/m1", amount_fen=PRICE
    )
    error = anhui.rejected(lambda: anhui.app.save(purchase), LifecycleError)
    assert "order/m1 already exists: an order is placed before it is made" in str(error)
    assert load(anhui, "purchase/g1").ordered_fen == 0


# -- the budget ---------------------------------------------------------------------------------


def test_orders_beyond_the_budget_are_refused(anhui: World) -> None:
    approved(anhui)
    place(anhui, "order/g1-1")
    place(anhui, "order/g1-2")
    error = anhui.rejected(lambda: place(anhui, "order/g1-3"), LifecycleError)
    assert (
        f"order/g1-3 for {PRICE} fen exceeds what is left of the budget, "
        f"{BUDGET - 2 * PRICE} of {BUDGET} fen (AH 18)"
    ) in str(error)
    assert load(anhui, "purchase/g1").ordered_fen == 2 * PRICE
    assert "order/g1-3" not in anhui.app.repository


def test_a_refund_gives_no_budget_back(anhui: World) -> None:
    approved(anhui, budget_fen=PRICE)
    order = place(anhui)
    order.initiate_payment(method="财政支付")
    order.settle(actor="org/operator", payment_ref="CZ-1")
    order.refund(actor="org/operator", payment_ref="CZ-RF-1", amount_fen=PRICE, reason="未履行")
    anhui.app.save(order)
    error = anhui.rejected(lambda: place(anhui, "order/g1-2"), LifecycleError)
    assert f"exceeds what is left of the budget, 0 of {PRICE} fen" in str(error)


# -- AH 6: the finance department is never paid ------------------------------------------------


def test_the_finance_department_is_never_the_payee(anhui: World) -> None:
    placed = Order.create(
        stream="order/o1",
        buyer="member/u1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        payee="org/finance",
    )
    error = anhui.violates(7, lambda: anhui.app.save(placed))
    assert "payee org/finance is a government department (provincial_finance_department)" in (
        error.problem
    )


# -- the compliance replay finds a department's order written around the rules -----------------


def test_a_stored_department_order_without_a_purchase_is_a_finding(anhui: World) -> None:
    body = {
        "buyer": DEPARTMENT,
        "item": "item/i1",
        "provider": "provider/p1",
        "payee": "provider/p1",
        "channel": "online",
        "price_fen": PRICE,
        "purchase": None,
    }
    raw = client_entry(anhui, DEPARTMENT, "order/g9", "OrderCreated", body).raw
    anhui.rejected(lambda: anhui.app.submit(raw), LifecycleError)

    anhui.app.recorder.insert_events([StoredEvent("order/g9", 1, "OrderCreated", raw)])
    report = check_compliance(anhui.app.entries())
    assert [f.stream for f in report.findings] == ["order/g9"]
    assert "it buys only under an approved government purchase" in report.findings[0].problem
