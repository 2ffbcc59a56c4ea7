"""Orders, payments, refunds, receipts, evaluations and deposits (HN 9(5), 19(2), 20, 21; AH 20);
payees (AH 6), frozen payments (AH 28; HN 24), what vouchers are issued and redeemed for (AH 19);
orders refunded in full, and orders cancelled before settlement with their vouchers given back.

Each test runs on SQLite and PostgreSQL; the ``world`` fixture adds both policies.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from ledger.compliance import check_compliance
from ledger.core.envelope import decode_entry
from ledger.domain.complaints import Complaint
from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Provider
from ledger.domain.trading import Deposit, GovernmentPurchase, Order, Voucher
from ledger.storage import Database
from tests.domain.world import (
    ANHUI,
    HUNAN,
    World,
    assert_complies,
    at,
    client_entry,
    open_world,
)

PRICE = 120_000  # item/i1's fee
SETTLER_ROLE = {HUNAN: "hub_platform", ANHUI: "cloud_operator"}  # who settles payments


pytestmark = pytest.mark.usefixtures("events_on_world_time")


@pytest.fixture(params=[HUNAN, ANHUI])
def world(request: pytest.FixtureRequest, db: Database) -> World:
    return open_world(db, request.param)


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


def settler(world: World) -> str:
    """Who settles and refunds payments: the hub platform (HN 20), the operator (AH 19)."""
    return "platform/hub" if world.policy == HUNAN else "org/operator"


def place(
    world: World,
    stream: str = "order/o1",
    *,
    buyer: str = "member/e1",
    item: str = "item/i1",
    channel: str = "online",
    price_fen: int = PRICE,
) -> Order:
    order = Order.create(
        stream=stream,
        buyer=buyer,
        item=item,
        provider="provider/p1",
        channel=channel,
        price_fen=price_fen,
    )
    world.app.save(order)
    return order


def paid(world: World, stream: str = "order/o1") -> Order:
    """An order placed, paid and settled with the payment service's reference."""
    order = place(world, stream)
    order.initiate_payment(method="wechat_pay")
    order.settle(actor=settler(world), payment_ref=f"PAY-{stream}")
    world.app.save(order)
    return order


def types_of(world: World, stream: str) -> list[str]:
    return [
        env.type
        for env in (decode_entry(raw).envelope for raw in world.app.entries())
        if env.stream == stream
    ]


# -- happy paths ---------------------------------------------------------------------------


def test_online_order_is_paid_completed_receipted_and_evaluated(world: World) -> None:
    order = place(world)
    order.initiate_payment(method="wechat_pay")
    world.app.save(order)
    order.settle(actor=settler(world), payment_ref="4200001234202611240001")
    world.app.save(order)
    order.complete()
    order.issue_receipt(receipt_no="FP-0001")
    world.app.save(order)
    order.evaluate(actor="member/e1", score=5, comment="方案实用")
    world.app.save(order)

    stored = load(world, "order/o1")
    assert (stored.status, stored.settled_fen, stored.evaluated) == ("completed", PRICE, True)
    assert types_of(world, "order/o1") == [
        "OrderCreated",
        "PaymentInitiated",
        "PaymentSettled",
        "OrderCompleted",
        "ReceiptIssued",
        "OrderEvaluated",
    ]
    settled = [
        decode_entry(raw).envelope
        for raw in world.app.entries()
        if decode_entry(raw).envelope.type == "PaymentSettled"
    ]
    assert settled[0].body == {"payment_ref": "4200001234202611240001", "amount_fen": PRICE}
    assert_complies(world)


def test_offline_deal_gets_one_risk_notice(world: World) -> None:
    noticer = "platform/changsha" if world.policy == HUNAN else "org/operator"
    order = place(world, channel="offline")
    order.deliver_risk_notice(actor=noticer, notice_sha256="cd" * 32)
    world.app.save(order)
    assert load(world, "order/o1").risk_noticed

    again = load(world, "order/o1")
    again.deliver_risk_notice(actor=noticer, notice_sha256="cd" * 32)
    world.rejected(lambda: world.app.save(again), LifecycleError)

    online = place(world, "order/o2")
    online.deliver_risk_notice(actor=noticer, notice_sha256="cd" * 32)
    world.rejected(lambda: world.app.save(online), LifecycleError)


def test_refunds_up_to_what_was_settled(world: World) -> None:
    order = paid(world)
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=20_000, reason="部分退款")
    world.app.save(order)
    order.refund(actor=settler(world), payment_ref="RF-2", amount_fen=100_000, reason="全部退款")
    world.app.save(order)
    assert load(world, "order/o1").refunded_fen == PRICE

    more = load(world, "order/o1")
    more.refund(actor=settler(world), payment_ref="RF-3", amount_fen=1, reason="超额")
    error = world.rejected(lambda: world.app.save(more), LifecycleError)
    assert "only 0 fen" in str(error)


def test_refund_beyond_the_settled_amount_is_refused(world: World) -> None:
    paid(world)
    order = load(world, "order/o1")
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=PRICE + 1, reason="超额")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert f"only {PRICE} fen" in str(error)

    unpaid = place(world, "order/o2")
    unpaid.refund(actor=settler(world), payment_ref="RF-2", amount_fen=1, reason="未付款")
    world.rejected(lambda: world.app.save(unpaid), LifecycleError)


# -- lifecycle errors ----------------------------------------------------------------------


def test_settling_before_the_payment_is_initiated_is_refused(world: World) -> None:
    order = place(world)
    order.settle(actor=settler(world), payment_ref="PAY-1")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "is created, not paying" in str(error)


def test_an_unpaid_order_does_not_complete(world: World) -> None:
    order = place(world)
    order.complete()
    world.rejected(lambda: world.app.save(order), LifecycleError)

    paying = load(world, "order/o1")
    paying.initiate_payment(method="alipay")
    world.app.save(paying)
    paying.complete()
    error = world.rejected(lambda: world.app.save(paying), LifecycleError)
    assert "completes once paid" in str(error)


def test_a_receipt_only_once_paid(world: World) -> None:
    order = place(world)
    order.issue_receipt(receipt_no="FP-0001")
    world.rejected(lambda: world.app.save(order), LifecycleError)


def test_only_a_completed_order_is_evaluated(world: World) -> None:
    order = paid(world)
    order.evaluate(actor="member/e1", score=5, comment="还没做完")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "only once completed" in str(error)


def test_a_score_outside_the_scale_is_refused(world: World) -> None:
    order = paid(world)
    order.complete()
    world.app.save(order)
    order.evaluate(actor="member/e1", score=6, comment="满分以上")
    world.rejected(lambda: world.app.save(order), LifecycleError)


def test_an_order_with_a_blacklisted_seller_breaks_rule_4(world: World) -> None:
    provider: Provider = load(world, "provider/p1")
    provider.blacklist(actor=settler(world), reason="虚假宣传")
    world.app.save(provider)
    world.violates(4, lambda: place(world))


def test_an_order_charging_for_a_free_item_breaks_rule_7(world: World) -> None:
    error = world.violates(7, lambda: place(world, item="item/free", price_fen=100))
    assert "free service" in error.problem
    place(world, item="item/free", price_fen=0)  # the free item itself is ordered for nothing


# -- rule 9 (HN 19(2)): evaluations by the buyer, once ------------------------------------------


def test_only_the_buyer_evaluates_and_only_once(hunan: World) -> None:
    world = hunan
    order = paid(world)
    order.complete()
    world.app.save(order)

    other = load(world, "order/o1")
    other.evaluate(actor="member/e2", score=1, comment="not mine")
    error = world.violates(9, lambda: world.app.save(other))
    assert "only the buyer member/e1" in error.problem

    order.evaluate(actor="member/e1", score=4, comment="满意")
    world.app.save(order)
    twice = load(world, "order/o1")
    twice.evaluate(actor="member/e1", score=1, comment="改评")
    error = world.violates(9, lambda: world.app.save(twice))
    assert "already been evaluated" in error.problem


def test_a_non_buyer_on_an_uncompleted_order_breaks_rule_9_first(hunan: World) -> None:
    order = place(hunan)
    order.evaluate(actor="member/e2", score=3, comment="未完成")
    hunan.violates(9, lambda: hunan.app.save(order))


# -- deposits (HN 21) -------------------------------------------------------------------------


def resolved_complaint(world: World, stream: str = "complaint/c1") -> None:
    complaint = Complaint.register(
        stream=stream,
        complainant="member/e1",
        respondent="provider/p1",
        about=None,
        summary="服务未按约定交付",
    )
    complaint.acknowledge(actor="platform/changsha", reference="TS-1")
    complaint.resolve(actor="platform/changsha", outcome="赔付 3000 元")
    world.app.save(complaint)


def test_deposit_paid_topped_up_claimed_and_returned(hunan: World) -> None:
    world = hunan
    deposit = Deposit.pay(provider="provider/p1", amount_fen=500_000, payment_ref="BZJ-1")
    world.app.save(deposit)
    deposit.top_up(amount_fen=100_000, payment_ref="BZJ-2")
    world.app.save(deposit)
    resolved_complaint(world)
    deposit.claim(
        actor="platform/hub", amount_fen=300_000, complaint="complaint/c1", beneficiary="member/e1"
    )
    world.app.save(deposit)
    deposit.give_back(actor="platform/hub", amount_fen=300_000, reason="退出平台")
    world.app.save(deposit)

    assert load(world, "deposit/provider/p1").balance_fen == 0
    assert types_of(world, "deposit/provider/p1") == [
        "DepositPaid",
        "DepositToppedUp",
        "DepositClaimed",
        "DepositReturned",
    ]
    assert_complies(world)


def test_a_deposit_claim_needs_the_balance_and_a_resolved_complaint(hunan: World) -> None:
    world = hunan
    world.app.save(Deposit.pay(provider="provider/p1", amount_fen=100_000, payment_ref="BZJ-1"))
    resolved_complaint(world)

    beyond = load(world, "deposit/provider/p1")
    beyond.claim(
        actor="platform/hub", amount_fen=100_001, complaint="complaint/c1", beneficiary="member/e1"
    )
    error = world.rejected(lambda: world.app.save(beyond), LifecycleError)
    assert "balance is 100000 fen" in str(error)

    world.app.save(
        Complaint.register(
            stream="complaint/c2",
            complainant="member/e2",
            respondent="provider/p1",
            about=None,
            summary="未解决",
        )
    )
    open_one = load(world, "deposit/provider/p1")
    open_one.claim(
        actor="platform/hub", amount_fen=1, complaint="complaint/c2", beneficiary="member/e2"
    )
    world.rejected(lambda: world.app.save(open_one), LifecycleError)

    returned = load(world, "deposit/provider/p1")
    returned.give_back(actor="platform/hub", amount_fen=100_001, reason="超额")
    world.rejected(lambda: world.app.save(returned), LifecycleError)


def test_a_deposit_is_a_positive_amount(hunan: World) -> None:
    deposit = Deposit.pay(provider="provider/p1", amount_fen=0, payment_ref="BZJ-0")
    hunan.rejected(lambda: hunan.app.save(deposit), LifecycleError)


# -- the price of a commercial item (HN 9(4)) ------------------------------------------------------


def test_a_commercial_item_is_not_ordered_for_nothing(world: World) -> None:
    error = world.rejected(lambda: place(world, price_fen=0), LifecycleError)
    assert "item/i1 is a commercial service: its order has a positive price" in str(error)
    assert "order/o1" not in world.app.repository


@pytest.mark.parametrize("price_fen", [PRICE * 9 // 10, PRICE * 2])
def test_a_commercial_order_may_be_priced_off_the_fee(world: World, price_fen: int) -> None:
    """A promotion lowers the price; a price above the fee is a fraud signal, not a refusal."""
    place(world, price_fen=price_fen)
    assert load(world, "order/o1").price_fen == price_fen
    assert_complies(world)


# -- a refunded order is not a service delivered ---------------------------------------------------


def test_an_order_refunded_in_full_does_not_complete(world: World) -> None:
    order = paid(world)
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=PRICE, reason="全部退款")
    world.app.save(order)
    stored = load(world, "order/o1")
    assert (stored.status, stored.paid_fen, stored.completed) == ("refunded", 0, False)
    order.complete()
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert f"its payment of {PRICE} fen was refunded in full" in str(error)
    assert load(world, "order/o1").status == "refunded"

    never_delivered = load(world, "order/o1")  # refunded before completion: nothing to rate
    never_delivered.evaluate(actor="member/e1", score=1, comment="未履行")
    error = world.rejected(lambda: world.app.save(never_delivered), LifecycleError)
    assert "is evaluated only once completed" in str(error)
    assert_complies(world)


def test_a_completed_order_refunded_in_full_ends_refunded_and_is_still_evaluated(
    world: World,
) -> None:
    order = paid(world)
    order.complete()
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=20_000, reason="部分退款")
    world.app.save(order)
    assert load(world, "order/o1").status == "completed"  # a partial refund keeps it
    order.refund(
        actor=settler(world), payment_ref="RF-2", amount_fen=PRICE - 20_000, reason="服务不满意"
    )
    world.app.save(order)
    stored = load(world, "order/o1")
    assert (stored.status, stored.refunded_fen, stored.paid_fen) == ("refunded", PRICE, 0)

    # the service was delivered: its unhappy buyer evaluates it (HN 19(2))
    order.evaluate(actor="member/e1", score=1, comment="服务质量差,已退款")
    world.app.save(order)
    assert load(world, "order/o1").evaluated
    assert types_of(world, "order/o1")[-4:] == [
        "OrderCompleted",
        "PaymentRefunded",
        "PaymentRefunded",
        "OrderEvaluated",
    ]
    assert_complies(world)


@pytest.mark.parametrize("step", ["complete", "receipt", "refund", "cancel"])
def test_an_order_refunded_in_full_takes_no_further_step(world: World, step: str) -> None:
    order = paid(world)
    order.complete()
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=PRICE, reason="全部退款")
    world.app.save(order)

    order = load(world, "order/o1")
    problem = {
        "complete": f"its payment of {PRICE} fen was refunded in full",
        "receipt": "is refunded: no receipt is issued for an undone deal",
        "refund": "only 0 fen can still be refunded",
        "cancel": "is refunded: only an order not yet settled is cancelled",
    }[step]
    if step == "complete":
        order.complete()
    elif step == "receipt":
        order.issue_receipt(receipt_no="FP-1", amount_fen=1)
    elif step == "refund":
        order.refund(actor=settler(world), payment_ref="RF-2", amount_fen=1, reason="再退")
    else:
        order.cancel(actor="member/e1", reason="撤单")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert problem in str(error)
    assert load(world, "order/o1").status == "refunded"


def test_an_order_refunded_in_part_completes(world: World) -> None:
    order = paid(world)
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=PRICE - 1, reason="部分退款")
    order.complete()
    world.app.save(order)
    assert load(world, "order/o1").status == "completed"
    assert_complies(world)


# -- receipts (HN 9(5)) -------------------------------------------------------------------------


def test_receipts_cover_what_was_paid_in_parts(world: World) -> None:
    order = paid(world)
    order.issue_receipt(receipt_no="FP-1", amount_fen=20_000)
    world.app.save(order)
    order.issue_receipt(receipt_no="FP-2")  # the rest
    world.app.save(order)
    stored = load(world, "order/o1")
    assert stored.receipts == {"FP-1": 20_000, "FP-2": PRICE - 20_000}
    assert stored.receipted_fen == PRICE
    assert_complies(world)


def test_a_receipt_beyond_what_was_paid_is_refused(world: World) -> None:
    paid(world)
    beyond = load(world, "order/o1")
    beyond.issue_receipt(receipt_no="FP-1", amount_fen=PRICE + 1)
    error = world.rejected(lambda: world.app.save(beyond), LifecycleError)
    assert f"receipts cover at most the {PRICE} fen paid (0 fen already receipted)" in str(error)

    order = load(world, "order/o1")
    order.issue_receipt(receipt_no="FP-1")
    world.app.save(order)
    again = load(world, "order/o1")
    again.issue_receipt(receipt_no="FP-2")  # nothing is left to receipt
    error = world.rejected(lambda: world.app.save(again), LifecycleError)
    assert "amount_fen must be a positive integer number of fen, got 0" in str(error)
    more = load(world, "order/o1")
    more.issue_receipt(receipt_no="FP-2", amount_fen=1)
    error = world.rejected(lambda: world.app.save(more), LifecycleError)
    assert f"({PRICE} fen already receipted), not 1 fen more" in str(error)


def test_a_receipt_number_is_issued_once(world: World) -> None:
    order = paid(world)
    order.issue_receipt(receipt_no="FP-1", amount_fen=1_000)
    world.app.save(order)
    twice = load(world, "order/o1")
    twice.issue_receipt(receipt_no="FP-1", amount_fen=1_000)
    error = world.rejected(lambda: world.app.save(twice), LifecycleError)
    assert "receipt number 'FP-1' is empty or already issued" in str(error)


def test_a_refund_lowers_what_receipts_may_cover(world: World) -> None:
    order = paid(world)
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=20_000, reason="部分退款")
    world.app.save(order)
    beyond = load(world, "order/o1")
    beyond.issue_receipt(receipt_no="FP-1", amount_fen=PRICE)
    error = world.rejected(lambda: world.app.save(beyond), LifecycleError)
    assert f"receipts cover at most the {PRICE - 20_000} fen paid" in str(error)
    order.issue_receipt(receipt_no="FP-1")
    world.app.save(order)
    assert load(world, "order/o1").receipted_fen == PRICE - 20_000


def test_a_free_order_gets_no_receipt(world: World) -> None:
    order = place(world, item="item/free", price_fen=0)
    order.complete()
    world.app.save(order)
    order.issue_receipt(receipt_no="FP-0")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "amount_fen must be a positive integer number of fen, got 0" in str(error)


# -- the payee (rule 7; AH 6, HN 20) ------------------------------------------------------------


def placed_paying(world: World, payee: str) -> Order:
    return Order.create(
        stream="order/o1",
        buyer="member/e1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        payee=payee,
    )


def test_the_operator_that_settles_payments_may_be_the_payee(world: World) -> None:
    """The hub platform settles payments (HN 20), the cloud operator in Anhui (AH 19)."""
    world.app.save(placed_paying(world, settler(world)))
    order = load(world, "order/o1")
    assert order.payee == settler(world)
    order.initiate_payment(method="wechat_pay")
    order.settle(actor=settler(world), payment_ref="PAY-1")
    order.complete()
    world.app.save(order)
    assert_complies(world)


@pytest.mark.parametrize(
    ("policy", "payee"),
    [
        (HUNAN, "org/province"),
        (HUNAN, "org/changsha"),
        (HUNAN, "platform/changsha"),
        (HUNAN, "member/e2"),
        (ANHUI, "org/supervisor"),
        (ANHUI, "platform/cloud"),
        (ANHUI, "member/e2"),
        (ANHUI, "provider/nowhere"),
    ],
)
def test_a_payee_neither_seller_nor_settling_operator_is_refused(
    db: Database, policy: str, payee: str
) -> None:
    world = open_world(db, policy)
    with_settler = SETTLER_ROLE[policy]
    error = world.rejected(lambda: world.app.save(placed_paying(world, payee)), LifecycleError)
    assert (
        f"the payee {payee} is neither the seller provider/p1 nor an operator settling "
        f"payments ({with_settler})"
    ) in str(error)


# -- a seller barred after the order: its payments are frozen (rule 4; AH 28, HN 24) ------------


def blacklist_seller(world: World) -> None:
    provider: Provider = load(world, "provider/p1")
    provider.blacklist(actor=settler(world), reason="虚假宣传")
    world.app.save(provider)


def test_no_settlement_to_a_seller_barred_after_the_order(world: World) -> None:
    order = place(world)
    order.initiate_payment(method="wechat_pay")
    world.app.save(order)
    blacklist_seller(world)
    order.settle(actor=settler(world), payment_ref="PAY-1")
    error = world.violates(4, lambda: world.app.save(order))
    assert "the seller provider/p1 is blacklisted: payments of order/o1 are frozen" in error.problem
    assert load(world, "order/o1").status == "paying"


def test_no_payment_to_a_seller_barred_after_the_order(world: World) -> None:
    order = place(world)
    blacklist_seller(world)
    order.initiate_payment(method="wechat_pay")
    error = world.violates(4, lambda: world.app.save(order))
    assert "payments of order/o1 are frozen" in error.problem


def test_a_settled_order_of_a_seller_barred_later_is_still_refunded(world: World) -> None:
    paid(world)
    blacklist_seller(world)
    order = load(world, "order/o1")
    order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=PRICE, reason="服务商失信")
    world.app.save(order)
    stored = load(world, "order/o1")
    assert (stored.refunded_fen, stored.status) == (PRICE, "refunded")  # it ends there
    assert_complies(world)


# -- vouchers and what they may be redeemed for (rule 6; AH 17, 19) ---------------------------


def voucher(world: World, holder: str = "member/u1") -> Voucher:
    return Voucher.issue(
        stream="voucher/v1",
        actor="org/hrss",
        holder=holder,
        face_value_fen=100_000,
        expires_on="2026-12-31",
        categories=["管理咨询"],
    )


def test_no_voucher_is_issued_to_a_member_who_left(anhui: World) -> None:
    member = load(anhui, "member/u1")
    member.deregister(actor="member/u1", reason="注销账户")
    anhui.app.save(member)
    error = anhui.rejected(lambda: anhui.app.save(voucher(anhui)), LifecycleError)
    assert "member/u1: deregistered at" in str(error)
    anhui.app.save(voucher(anhui, holder="member/e1"))  # a member still present is issued one


def test_a_voucher_is_not_redeemed_for_an_item_withdrawn_after_the_order(anhui: World) -> None:
    anhui.app.save(voucher(anhui, holder="member/e1"))
    place(anhui)
    item = load(anhui, "item/i1")
    item.withdraw(actor="provider/p1", reason="服务下架")
    anhui.app.save(item)

    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    v.redeem(order=o, amount_fen=10_000)
    error = anhui.violates(6, lambda: anhui.app.save(v, o))
    assert "item/i1 was withdrawn: a voucher is redeemed only for an item on offer" in error.problem
    assert load(anhui, "voucher/v1").redeemed_fen == 0


def test_a_voucher_paid_order_is_receipted_for_the_voucher_value(anhui: World) -> None:
    anhui.app.save(voucher(anhui, holder="member/e1"))
    place(anhui, price_fen=100_000)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    v.redeem(order=o, amount_fen=100_000)
    anhui.app.save(v, o)
    o.complete()
    o.issue_receipt(receipt_no="FP-1")
    anhui.app.save(o)
    assert load(anhui, "order/o1").receipts == {"FP-1": 100_000}
    assert_complies(anhui)


def test_an_offline_deal_is_paid_only_after_the_risk_notice(world: World) -> None:
    """AH 20: the operator tells the user of the risks and the complaint channels first;
    Hunan has no such rule."""
    order = place(world, channel="offline")
    order.initiate_payment(method="银行转账")
    if world.policy == HUNAN:
        world.app.save(order)
        return
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "paid only after the operator's notice of its risks" in str(error)
    assert "(AH 20)" in str(error)
    order = load(world, "order/o1")
    order.deliver_risk_notice(actor="org/operator", notice_sha256="cd" * 32)
    order.initiate_payment(method="银行转账")
    world.app.save(order)
    assert load(world, "order/o1").status == "paying"
    assert_complies(world)


# -- cancellation before settlement: a frozen payment released (HN 20; AH 19, 28) ---------------


def paying(world: World, stream: str = "order/o1", *, buyer: str = "member/e1") -> Order:
    """An order placed by ``buyer`` with its payment initiated, not settled."""
    order = place(world, stream, buyer=buyer)
    order.initiate_payment(method="wechat_pay")
    world.app.save(order)
    return order


@pytest.mark.parametrize("initiated", [False, True], ids=["created", "paying"])
@pytest.mark.parametrize("by", ["buyer", "settler"])
def test_an_order_not_yet_settled_is_cancelled(world: World, initiated: bool, by: str) -> None:
    order = paying(world) if initiated else place(world)
    order.cancel(actor="member/e1" if by == "buyer" else settler(world), reason="不再需要")
    world.app.save(order)
    stored = load(world, "order/o1")
    assert (stored.status, stored.cancelled, stored.paid_fen) == ("cancelled", "不再需要", 0)
    assert types_of(world, "order/o1")[-1] == "OrderCancelled"
    assert_complies(world)


def test_the_settler_releases_a_payment_frozen_by_a_blacklisting(world: World) -> None:
    """The seller was blacklisted after the order: its payment is frozen (rule 4), and the
    operator that settles payments cancels the order, releasing the buyer's payment."""
    order = paying(world)
    blacklist_seller(world)
    order.settle(actor=settler(world), payment_ref="PAY-1")
    world.violates(4, lambda: world.app.save(order))

    order = load(world, "order/o1")
    order.cancel(actor=settler(world), reason="服务商被列入黑名单,冻结的付款退回买方")
    world.app.save(order)
    assert load(world, "order/o1").status == "cancelled"
    assert types_of(world, "order/o1") == ["OrderCreated", "PaymentInitiated", "OrderCancelled"]
    assert_complies(world)


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ("pay", "is cancelled, not created"),
        ("settle", "is cancelled, not paying"),
        ("complete", "was cancelled (不再需要): no completion follows"),
        ("receipt", "is cancelled: no receipt is issued for an undone deal"),
        ("evaluate", "is evaluated only once completed"),
        ("refund", "nothing was settled to refund"),
        ("cancel", "was cancelled (不再需要): no cancellation follows"),
    ],
)
def test_a_cancelled_order_takes_nothing_further(world: World, step: str, problem: str) -> None:
    order = place(world)
    order.cancel(actor="member/e1", reason="不再需要")
    world.app.save(order)

    order = load(world, "order/o1")
    if step == "pay":
        order.initiate_payment(method="wechat_pay")
    elif step == "settle":
        order.settle(actor=settler(world), payment_ref="PAY-1")
    elif step == "complete":
        order.complete()
    elif step == "receipt":
        order.issue_receipt(receipt_no="FP-1", amount_fen=PRICE)
    elif step == "evaluate":
        order.evaluate(actor="member/e1", score=3, comment="已取消")
    elif step == "refund":
        order.refund(actor=settler(world), payment_ref="RF-1", amount_fen=1, reason="退款")
    else:
        order.cancel(actor=settler(world), reason="再次取消")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert problem in str(error)
    assert load(world, "order/o1").status == "cancelled"


def test_a_cancelled_offline_deal_gets_no_risk_notice(world: World) -> None:
    noticer = "platform/changsha" if world.policy == HUNAN else "org/operator"
    order = place(world, channel="offline")
    order.cancel(actor="member/e1", reason="改为线上办理")
    world.app.save(order)
    order.deliver_risk_notice(actor=noticer, notice_sha256="cd" * 32)
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "was cancelled (改为线上办理): no risk notice follows" in str(error)


@pytest.mark.parametrize("done", ["settled", "completed"])
def test_a_settled_order_is_refunded_not_cancelled(world: World, done: str) -> None:
    order = paid(world)
    if done == "completed":
        order.complete()
        world.app.save(order)
    order.cancel(actor="member/e1", reason="不再需要")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert (
        f"is {done}: only an order not yet settled is cancelled; a settled payment is refunded"
    ) in str(error)
    assert load(world, "order/o1").status == done


def test_a_free_order_completed_at_once_is_not_cancelled(world: World) -> None:
    order = place(world, item="item/free", price_fen=0)
    order.complete()
    world.app.save(order)
    order.cancel(actor="member/e1", reason="不再需要")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "is completed: only an order not yet settled is cancelled" in str(error)


@pytest.mark.parametrize(
    ("policy", "actor"),
    [
        (HUNAN, "provider/p1"),
        (HUNAN, "member/e2"),
        (HUNAN, "platform/changsha"),
        (ANHUI, "provider/p1"),
        (ANHUI, "member/e2"),
        (ANHUI, "org/supervisor"),
    ],
)
def test_only_the_buyer_or_the_settling_operator_cancels(
    db: Database, policy: str, actor: str
) -> None:
    world = open_world(db, policy)
    order = paying(world)
    order.cancel(actor=actor, reason="代为取消")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    with_settler = SETTLER_ROLE[policy]
    assert (
        f"is cancelled by its buyer member/e1 or an operator settling payments "
        f"({with_settler}), not by {actor}"
    ) in str(error)
    assert load(world, "order/o1").status == "paying"


def test_a_cancellation_gives_its_reason(world: World) -> None:
    order = place(world)
    order.cancel(actor="member/e1", reason=" ")
    error = world.rejected(lambda: world.app.save(order), LifecycleError)
    assert "a cancellation gives its reason" in str(error)


def test_a_blacklisted_buyer_does_not_cancel_but_the_settler_does(world: World) -> None:
    paying(world)
    buyer = load(world, "member/e1")
    buyer.blacklist(actor=settler(world), reason="恶意下单")
    world.app.save(buyer)

    order = load(world, "order/o1")
    order.cancel(actor="member/e1", reason="不再需要")
    world.violates(4, lambda: world.app.save(order))
    order = load(world, "order/o1")
    order.cancel(actor=settler(world), reason="买方被列入黑名单")
    world.app.save(order)
    assert load(world, "order/o1").status == "cancelled"
    assert_complies(world)


# -- a cancelled order gives its vouchers back (AH 17, 19; rule 6) ------------------------------


def voucher_order(anhui: World, *, initiated: bool = True, face_value_fen: int = 100_000) -> None:
    """member/e1 holds voucher/v1 and redeems 60000 fen of it in order/o1, whose rest
    (60000 fen) is, with ``initiated``, being paid."""
    anhui.app.save(
        Voucher.issue(
            stream="voucher/v1",
            actor="org/hrss",
            holder="member/e1",
            face_value_fen=face_value_fen,
            expires_on="2026-12-31",
            categories=["管理咨询"],
        )
    )
    place(anhui)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    v.redeem(order=o, amount_fen=60_000)
    if initiated:
        o.initiate_payment(method="wechat_pay")
    anhui.app.save(v, o)


@pytest.mark.parametrize("by", ["member/e1", "org/operator"])
def test_a_cancelled_order_gives_its_voucher_back(anhui: World, by: str) -> None:
    voucher_order(anhui)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor=by, reason="服务商无法履约", vouchers=[v])
    anhui.app.save(v, o)

    voucher, order = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    assert (voucher.redeemed_fen, voucher.released) == (0, {"order/o1": 60_000})
    assert voucher.redemptions == {"order/o1": 60_000}  # the redemption stays on record
    assert (order.status, order.vouchers_fen, order.paid_fen) == ("cancelled", 0, 0)
    assert order.vouchers == {"voucher/v1"}
    assert types_of(anhui, "voucher/v1") == [
        "VoucherIssued",
        "VoucherRedeemed",
        "VoucherReleased",
    ]

    # the amount given back is redeemed again, in full, in another order
    place(anhui, "order/o2")
    v, o2 = load(anhui, "voucher/v1"), load(anhui, "order/o2")
    v.redeem(order=o2, amount_fen=100_000)
    anhui.app.save(v, o2)
    assert load(anhui, "voucher/v1").redeemed_fen == 100_000
    assert_complies(anhui)


def test_a_frozen_voucher_order_is_released_by_the_operator(anhui: World) -> None:
    """Its seller blacklisted, the order paid partly by a voucher is frozen; the operator
    cancels it and the voucher gets its amount back."""
    voucher_order(anhui)
    blacklist_seller(anhui)
    frozen = load(anhui, "order/o1")
    frozen.settle(actor="org/operator", payment_ref="PAY-1")
    anhui.violates(4, lambda: anhui.app.save(frozen))

    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor="org/operator", reason="服务商被列入黑名单(AH 28)", vouchers=[v])
    anhui.app.save(v, o)
    assert load(anhui, "voucher/v1").redeemed_fen == 0
    assert load(anhui, "order/o1").status == "cancelled"
    assert_complies(anhui)


def test_an_expired_voucher_takes_its_amount_back_and_stays_expired(anhui: World) -> None:
    voucher_order(anhui, initiated=False)
    with at(anhui, datetime(2027, 1, 4, 2, 0, tzinfo=UTC)):
        v = load(anhui, "voucher/v1")
        v.expire(actor="org/hrss")
        anhui.app.save(v)
        o = load(anhui, "order/o1")
        o.cancel(actor="member/e1", reason="券已过期,订单取消", vouchers=[v])
        anhui.app.save(v, o)
    voucher = load(anhui, "voucher/v1")
    assert (voucher.redeemed_fen, voucher.expired) == (0, True)
    assert_complies(anhui)


def test_an_order_with_a_voucher_is_not_cancelled_without_giving_it_back(anhui: World) -> None:
    voucher_order(anhui)
    o = load(anhui, "order/o1")
    o.cancel(actor="member/e1", reason="不再需要")
    error = anhui.rejected(lambda: anhui.app.save(o), LifecycleError)
    assert (
        "voucher/v1 was redeemed in it for 60000 fen: the voucher is given back first "
        "(VoucherReleased), in the same batch"
    ) in str(error)
    assert load(anhui, "order/o1").status == "paying"


def test_a_voucher_given_back_without_the_cancellation_breaks_rule_6(anhui: World) -> None:
    """Given back while the order still counts it as paid, the voucher would pay twice."""
    voucher_order(anhui)
    v = load(anhui, "voucher/v1")
    v.release(order=load(anhui, "order/o1"), actor="member/e1")
    error = anhui.violates(6, lambda: anhui.app.save(v))
    assert (
        "giving voucher/v1's 60000 fen back must be followed at once by the OrderCancelled "
        "of order/o1"
    ) in error.problem
    assert load(anhui, "voucher/v1").redeemed_fen == 60_000


def test_a_voucher_given_back_by_one_and_the_order_cancelled_by_another_breaks_rule_6(
    anhui: World,
) -> None:
    voucher_order(anhui)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    v.release(order=o, actor="member/e1")
    o.cancel(actor="org/operator", reason="不再需要")
    error = anhui.violates(6, lambda: anhui.app.save(v, o))
    assert "OrderCancelled came next" in error.problem


@pytest.mark.parametrize("done", ["settled", "completed"])
def test_a_voucher_is_not_given_back_from_a_settled_order(anhui: World, done: str) -> None:
    voucher_order(anhui)
    o = load(anhui, "order/o1")
    o.settle(actor="org/operator", payment_ref="PAY-1")
    if done == "completed":
        o.complete()
    anhui.app.save(o)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor="member/e1", reason="不再需要", vouchers=[v])
    error = anhui.rejected(lambda: anhui.app.save(v, o), LifecycleError)
    assert (
        f"order/o1 is {done}: a voucher is given back only from an order cancelled before "
        "settlement"
    ) in str(error)
    assert load(anhui, "voucher/v1").redeemed_fen == 60_000


def test_a_voucher_is_given_back_by_the_buyer_or_the_operator_only(anhui: World) -> None:
    voucher_order(anhui)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor="member/e2", reason="代为取消", vouchers=[v])
    error = anhui.rejected(lambda: anhui.app.save(v, o), LifecycleError)
    assert "is cancelled by its buyer member/e1 or an operator settling payments" in str(error)


def test_a_voucher_gives_back_only_what_it_redeemed_in_the_order(anhui: World) -> None:
    voucher_order(anhui)
    place(anhui, "order/o2")
    v, o2 = load(anhui, "voucher/v1"), load(anhui, "order/o2")
    o2.cancel(actor="member/e1", reason="不再需要", vouchers=[v])  # never redeemed in o2
    error = anhui.rejected(lambda: anhui.app.save(v, o2), LifecycleError)
    assert "holds no redemption in order/o2 to give back" in str(error)

    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    v.trigger_event(Voucher.VoucherReleased, actor="member/e1", order="order/o1", amount_fen=1)
    o.cancel(actor="member/e1", reason="不再需要")
    error = anhui.rejected(lambda: anhui.app.save(v, o), LifecycleError)
    assert "was redeemed for 60000 fen in order/o1, not 1" in str(error)

    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor="member/e1", reason="不再需要", vouchers=[v])
    anhui.app.save(v, o)
    again = load(anhui, "voucher/v1")  # given back once
    again.release(order=load(anhui, "order/o1"), actor="member/e1")
    error = anhui.rejected(lambda: anhui.app.save(again), LifecycleError)
    assert "holds no redemption in order/o1 to give back" in str(error)


def test_no_voucher_is_redeemed_nor_applied_in_a_cancelled_order(anhui: World) -> None:
    voucher_order(anhui, initiated=False, face_value_fen=200_000)
    v, o = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    o.cancel(actor="member/e1", reason="不再需要", vouchers=[v])
    anhui.app.save(v, o)

    reapplied = load(anhui, "order/o1")  # its redemption is on record, given back
    reapplied.trigger_event(
        Order.VoucherApplied, actor="member/e1", voucher="voucher/v1", amount_fen=60_000
    )
    error = anhui.rejected(lambda: anhui.app.save(reapplied), LifecycleError)
    assert "is cancelled, not created" in str(error)

    anhui.app.save(
        Voucher.issue(
            stream="voucher/v2",
            actor="org/hrss",
            holder="member/e1",
            face_value_fen=10_000,
            expires_on="2026-12-31",
            categories=["管理咨询"],
        )
    )
    v2, o = load(anhui, "voucher/v2"), load(anhui, "order/o1")
    v2.redeem(order=o, amount_fen=10_000)
    error = anhui.violates(6, lambda: anhui.app.save(v2, o))
    assert "order/o1 is not an unpaid order of member/e1" in error.problem


def test_a_stored_release_without_its_cancellation_is_a_finding(anhui: World) -> None:
    voucher_order(anhui)
    raw = client_entry(
        anhui,
        "member/e1",
        "voucher/v1",
        "VoucherReleased",
        {"order": "order/o1", "amount_fen": 60_000},
    ).raw
    anhui.violates(6, lambda: anhui.app.submit(raw))

    version = load(anhui, "voucher/v1").version + 1
    anhui.app.recorder.insert_events([StoredEvent("voucher/v1", version, "VoucherReleased", raw)])
    report = check_compliance(anhui.app.entries())
    assert [f.stream for f in report.findings] == ["voucher/v1"]
    assert "must be followed at once by the OrderCancelled of order/o1" in (
        report.findings[0].problem
    )


def test_a_cancelled_government_order_gives_no_budget_back(anhui: World) -> None:
    """AH 18: what a department ordered stays ordered, cancelled or not."""
    anhui.province.organisation("org/finance", "安徽省财政厅", ["provincial_finance_department"])
    purchase = GovernmentPurchase.request(
        stream="purchase/g1", department="org/county-hr", purpose="创业辅导", budget_fen=PRICE
    )
    anhui.app.save(purchase)
    for approver in ("org/finance", "org/hrss"):
        purchase.approve(actor=approver, approval_ref="同意")
        anhui.app.save(purchase)

    def department_order(stream: str) -> Order:
        return Order.create(
            stream=stream,
            buyer="org/county-hr",
            item="item/i1",
            provider="provider/p1",
            channel="online",
            price_fen=PRICE,
            purchase="purchase/g1",
        )

    order = department_order("order/g1-1")
    purchase.place(order)
    anhui.app.save(purchase, order)
    order.cancel(actor="org/county-hr", reason="培训计划取消")
    anhui.app.save(order)
    assert load(anhui, "order/g1-1").status == "cancelled"

    again = department_order("order/g1-2")
    purchase = load(anhui, "purchase/g1")
    purchase.place(again)
    error = anhui.rejected(lambda: anhui.app.save(purchase, again), LifecycleError)
    assert f"exceeds what is left of the budget, 0 of {PRICE} fen" in str(error)
    assert_complies(anhui)
