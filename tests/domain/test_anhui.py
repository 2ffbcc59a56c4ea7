"""Anhui's startup cloud platform (AH = 皖人社秘 2017 460号): who may be a user (AH 25),
vouchers (AH 17, 19), government purchases (AH 18), payees (AH 6).

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from ledger.app import StreamConflictError
from ledger.core.errors import EntryRejectedError
from ledger.domain.errors import LifecycleError, NotPermittedError
from ledger.domain.registration import Member, Organisation
from ledger.domain.trading import GovernmentPurchase, Order, Voucher
from tests.domain.world import ITEM, World, assert_complies, at, client_entry

PRICE = 120_000  # item/i1's fee
EXPIRES = "2026-12-31"


pytestmark = pytest.mark.usefixtures("events_on_world_time")


def load(world: World, stream: str) -> Any:
    return world.app.repository.get(stream)


# -- AH 25: who may be a user (rule 3) ----------------------------------------------------------


def person(world: World, stream: str, birth_date: date) -> Member:
    return world.province.person(
        stream,
        by="org/operator",
        platform="platform/cloud",
        identity={"name": "陈晨", "id_card": f"340104{birth_date:%Y%m%d}123X"},
        birth_date=birth_date,
    )


def test_people_aged_16_to_59_inclusive_register(anhui: World) -> None:
    # world.now is 2026-11-24: sixteen today, and fifty-nine until tomorrow
    assert person(anhui, "member/sixteen", date(2010, 11, 24)).verified
    assert person(anhui, "member/fifty-nine", date(1966, 11, 25)).verified
    body = load(anhui, "member/sixteen")
    assert body.kind == "person"
    assert_complies(anhui)


@pytest.mark.parametrize(
    ("birth_date", "result"),
    [(date(2010, 11, 25), "below"), (date(1966, 11, 24), "above"), (date(1950, 1, 1), "above")],
)
def test_a_person_outside_16_to_59_breaks_rule_3(
    anhui: World, birth_date: date, result: str
) -> None:
    error = anhui.violates(3, lambda: person(anhui, "member/minor", birth_date))
    assert f"{result} the age range 16-59" in error.problem
    assert anhui.keys.signer_for("member/minor", anhui.app.keyring) is None


def test_a_state_owned_enterprise_breaks_rule_3(anhui: World) -> None:
    error = anhui.violates(
        3,
        lambda: anhui.province.enterprise(
            "member/soe",
            by="org/operator",
            platform="platform/cloud",
            name="安徽某国有投资集团",
            credit_code="91340000MA2N00000G",
            contact={"name": "赵强", "phone": "13900000009"},
            state_owned=True,
        ),
    )
    assert "non-state-owned" in error.problem
    assert "member/soe" not in anhui.app.repository
    assert anhui.keys.signer_for("member/soe", anhui.app.keyring) is None


def hand_made_person(age_check: dict[str, Any] | None) -> Member:
    """A person's registration written without Province.person's age check."""
    return Member.register(
        stream="member/forged",
        actor="org/operator",
        kind="person",
        name={"$pi": "ab" * 32},
        credit_code=None,
        identity={},
        platform="platform/cloud",
        age_check=age_check,
        index="cd" * 32,
    )


@pytest.mark.parametrize(
    "age_check",
    [
        {"range": "16-59", "result": "below", "checked_on": "2026-11-24"},
        {"range": "16-59", "result": "above", "checked_on": "2026-11-24"},
        {"range": "18-65", "result": "within", "checked_on": "2026-11-24"},
        {"range": "16-59"},
        None,
    ],
)
def test_a_registration_without_a_passing_age_check_breaks_rule_3(
    anhui: World, age_check: dict[str, Any] | None
) -> None:
    member = hand_made_person(age_check)
    anhui.violates(3, lambda: anhui.app.save(member))


def test_a_hand_made_registration_with_a_passing_age_check_is_accepted(anhui: World) -> None:
    check = {"range": "16-59", "result": "within", "checked_on": "2026-11-24"}
    person = hand_made_person(check)
    anhui.app.save(person, anhui.province.claim(person))
    assert load(anhui, "member/forged").kind == "person"
    assert load(anhui, f"identity/person/{'cd' * 32}").holder == "member/forged"


# -- vouchers (rules 6 and 7) -------------------------------------------------------------------


def issue(
    world: World,
    stream: str = "voucher/v1",
    *,
    actor: str = "org/hrss",
    holder: str = "member/u1",
    face_value_fen: int = 100_000,
    categories: tuple[str, ...] = ("管理咨询",),
) -> Voucher:
    voucher = Voucher.issue(
        stream=stream,
        actor=actor,
        holder=holder,
        face_value_fen=face_value_fen,
        expires_on=EXPIRES,
        categories=list(categories),
    )
    world.app.save(voucher)
    return voucher


def order(
    world: World,
    stream: str = "order/o1",
    *,
    buyer: str = "member/u1",
    item: str = "item/i1",
    channel: str = "online",
    price_fen: int = PRICE,
) -> Order:
    placed = Order.create(
        stream=stream,
        buyer=buyer,
        item=item,
        provider="provider/p1",
        channel=channel,
        price_fen=price_fen,
    )
    world.app.save(placed)
    return placed


def redeem(world: World, voucher: str, in_order: str, amount_fen: int) -> None:
    """The holder redeems ``voucher`` in ``in_order``: both aggregates, one batch."""
    v, o = load(world, voucher), load(world, in_order)
    v.redeem(order=o, amount_fen=amount_fen)
    world.app.save(v, o)


def test_a_voucher_is_issued_redeemed_in_part_and_the_rest_paid(anhui: World) -> None:
    world = anhui
    issue(world)
    order(world)
    redeem(world, "voucher/v1", "order/o1", 60_000)
    o1 = load(world, "order/o1")
    assert o1.vouchers_fen == 60_000
    o1.initiate_payment(method="wechat_pay")
    o1.settle(actor="org/operator", payment_ref="PAY-1")
    o1.complete()
    o1.issue_receipt(receipt_no="FP-1")
    world.app.save(o1)
    assert load(world, "order/o1").settled_fen == PRICE - 60_000

    # the balance pays the whole of a second order, which completes without a payment
    order(world, "order/o2", price_fen=40_000)
    redeem(world, "voucher/v1", "order/o2", 40_000)
    o2 = load(world, "order/o2")
    o2.complete()
    world.app.save(o2)

    voucher = load(world, "voucher/v1")
    assert voucher.redeemed_fen == voucher.face_value_fen == 100_000
    assert voucher.redemptions == {"order/o1": 60_000, "order/o2": 40_000}
    assert_complies(world)


def test_a_voucher_expires_after_its_expiry_date(anhui: World) -> None:
    world = anhui
    issue(world)
    early = load(world, "voucher/v1")
    early.expire(actor="org/hrss")
    world.rejected(lambda: world.app.save(early), LifecycleError)

    with at(world, datetime(2027, 1, 4, 2, 0, tzinfo=UTC)):
        voucher = load(world, "voucher/v1")
        voucher.expire(actor="org/hrss")
        world.app.save(voucher)
    assert load(world, "voucher/v1").expired


def test_only_the_hr_department_issues_vouchers(anhui: World) -> None:
    error = anhui.violates(6, lambda: issue(anhui, actor="org/operator"))
    assert "provincial_hr_department" in error.problem


def test_a_voucher_is_redeemed_online_only(anhui: World) -> None:
    issue(anhui)
    order(anhui, channel="offline")
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 10_000))
    assert "offline deal" in error.problem


def test_a_voucher_is_redeemed_by_its_holder_only(anhui: World) -> None:
    issue(anhui)
    order(anhui, buyer="member/e1")
    voucher, theirs = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    voucher.trigger_event(
        Voucher.VoucherRedeemed, actor="member/e1", order="order/o1", amount_fen=10_000
    )
    theirs.trigger_event(
        Order.VoucherApplied, actor="member/e1", voucher="voucher/v1", amount_fen=10_000
    )
    error = anhui.violates(6, lambda: anhui.app.save(voucher, theirs))
    assert "only the holder member/u1" in error.problem


def test_a_voucher_is_not_redeemed_in_someone_elses_order(anhui: World) -> None:
    issue(anhui)
    order(anhui, buyer="member/e1")
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 10_000))
    assert "not an unpaid order of member/u1" in error.problem


def test_a_voucher_is_redeemed_for_eligible_categories_only(anhui: World) -> None:
    issue(anhui, categories=("法律服务",))
    order(anhui)
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 10_000))
    assert "管理咨询 is not eligible" in error.problem


def test_a_voucher_is_not_redeemed_after_its_expiry(anhui: World) -> None:
    issue(anhui)
    with at(anhui, datetime(2027, 1, 1, 2, 0, tzinfo=UTC)):
        order(anhui)
        error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 10_000))
    assert f"expired on {EXPIRES}" in error.problem


def test_a_voucher_is_redeemed_once_per_order(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    redeem(anhui, "voucher/v1", "order/o1", 30_000)
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 30_000))
    assert "already redeemed in order/o1" in error.problem


def test_a_voucher_is_not_redeemed_twice_in_one_batch(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    voucher, o1 = load(anhui, "voucher/v1"), load(anhui, "order/o1")
    voucher.redeem(order=o1, amount_fen=10_000)
    voucher.redeem(order=o1, amount_fen=10_000)
    anhui.violates(6, lambda: anhui.app.save(voucher, o1))


def test_redemptions_never_exceed_the_face_value(anhui: World) -> None:
    issue(anhui, face_value_fen=100_000)
    order(anhui)
    order(anhui, "order/o2")
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", 100_001))
    assert "exceed the face value" in error.problem

    redeem(anhui, "voucher/v1", "order/o1", 70_000)
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o2", 30_001))
    assert "70000 already redeemed" in error.problem


def test_a_voucher_does_not_pay_more_than_the_price(anhui: World) -> None:
    issue(anhui, face_value_fen=200_000)
    order(anhui)
    error = anhui.violates(6, lambda: redeem(anhui, "voucher/v1", "order/o1", PRICE + 1))
    assert f"costs {PRICE} fen" in error.problem


def test_no_voucher_on_a_free_item(anhui: World) -> None:
    issue(anhui)
    order(anhui, item="item/free", price_fen=0)
    error = anhui.violates(7, lambda: redeem(anhui, "voucher/v1", "order/o1", 10_000))
    assert "free service item/free" in error.problem


def test_a_voucher_is_not_applied_without_its_redemption(anhui: World) -> None:
    issue(anhui)
    o1 = order(anhui)
    o1.trigger_event(
        Order.VoucherApplied, actor="member/u1", voucher="voucher/v1", amount_fen=PRICE
    )
    anhui.rejected(lambda: anhui.app.save(o1), LifecycleError)


def redemption(amount_fen: int = 10_000, in_order: str = "order/o1") -> dict[str, Any]:
    return {"order": in_order, "amount_fen": amount_fen}


def application(amount_fen: int = 10_000, voucher: str = "voucher/v1") -> dict[str, Any]:
    return {"voucher": voucher, "amount_fen": amount_fen}


def test_a_redemption_without_its_application_breaks_rule_6(anhui: World) -> None:
    """Redeemed but not applied, the order would be paid in full and the voucher's value
    paid to the provider on top: a double payment."""
    issue(anhui)
    order(anhui)
    voucher = load(anhui, "voucher/v1")
    voucher.trigger_event(
        Voucher.VoucherRedeemed, actor="member/u1", order="order/o1", amount_fen=10_000
    )
    error = anhui.violates(6, lambda: anhui.app.save(voucher))
    assert "must be followed at once by its VoucherApplied to order/o1" in error.problem
    assert load(anhui, "voucher/v1").redeemed_fen == 0


def test_a_redemption_is_applied_by_the_very_next_entry(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    other = order(anhui, "order/o2")
    voucher = load(anhui, "voucher/v1")
    voucher.trigger_event(
        Voucher.VoucherRedeemed, actor="member/u1", order="order/o1", amount_fen=10_000
    )
    other.trigger_event(
        Order.VoucherApplied, actor="member/u1", voucher="voucher/v1", amount_fen=10_000
    )  # applied to another order than the one it was redeemed in
    error = anhui.violates(6, lambda: anhui.app.save(voucher, other))
    assert "VoucherApplied came next" in error.problem


def test_a_client_submits_redemption_and_application_together(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    redeemed = client_entry(anhui, "member/u1", "voucher/v1", "VoucherRedeemed", redemption())
    applied = client_entry(anhui, "member/u1", "order/o1", "VoucherApplied", application())
    anhui.violates(6, lambda: anhui.app.submit(redeemed.raw))
    anhui.rejected(lambda: anhui.app.submit(applied.raw), LifecycleError)

    before = anhui.entries
    stored = anhui.app.submit_all([redeemed.raw, applied.raw])
    assert [e.raw for e in stored] == [redeemed.raw, applied.raw]
    assert list(anhui.app.entries())[before:] == [redeemed.raw, applied.raw]
    assert load(anhui, "order/o1").vouchers_fen == 10_000
    assert load(anhui, "voucher/v1").redemptions == {"order/o1": 10_000}
    assert_complies(anhui)


def test_a_submitted_batch_chains_entries_of_one_stream(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    redeemed = client_entry(anhui, "member/u1", "voucher/v1", "VoucherRedeemed", redemption())
    applied = client_entry(anhui, "member/u1", "order/o1", "VoucherApplied", application())
    paying = client_entry(
        anhui,
        "member/u1",
        "order/o1",
        "PaymentInitiated",
        {"amount_fen": PRICE - 10_000, "method": "wechat_pay"},
        after=applied,
    )
    anhui.app.submit_all([redeemed.raw, applied.raw, paying.raw])
    assert load(anhui, "order/o1").status == "paying"
    assert_complies(anhui)


def test_a_submitted_batch_is_stored_whole_or_not_at_all(anhui: World) -> None:
    issue(anhui)
    order(anhui)
    redeemed = client_entry(anhui, "member/u1", "voucher/v1", "VoucherRedeemed", redemption())
    applied = client_entry(anhui, "member/u1", "order/o1", "VoucherApplied", application())
    unchained = client_entry(  # version 3 of order/o1, but chained to version 1
        anhui,
        "member/u1",
        "order/o1",
        "PaymentInitiated",
        {"amount_fen": PRICE - 10_000, "method": "wechat_pay"},
    )
    error = anhui.rejected(
        lambda: anhui.app.submit_all([redeemed.raw, applied.raw, unchained.raw]),
        StreamConflictError,
    )
    assert "expected version 3, got 2" in str(error)

    overpaid = client_entry(
        anhui,
        "member/u1",
        "order/o1",
        "PaymentInitiated",
        {"amount_fen": PRICE, "method": "wechat_pay"},  # ignores the voucher
        after=applied,
    )
    error = anhui.rejected(
        lambda: anhui.app.submit_all([redeemed.raw, applied.raw, overpaid.raw]),
        LifecycleError,
    )
    assert f"the amount due is {PRICE - 10_000} fen" in str(error)
    anhui.rejected(lambda: anhui.app.submit_all([]), EntryRejectedError)
    assert load(anhui, "voucher/v1").redeemed_fen == 0


# -- rule 7: free policy services, government payees (AH 6, 14) ---------------------------------


def test_a_policy_service_is_never_charged_for(anhui: World) -> None:
    anhui.violates(
        7,
        lambda: anhui.province.item(
            "item/paid-policy",
            provider="provider/p1",
            **{**ITEM, "function": "政策服务", "charge": "commercial"},
        ),
    )
    anhui.violates(7, lambda: order(anhui, item="item/free", price_fen=1))


@pytest.mark.parametrize("payee", ["org/county-hr", "org/hrss", "org/admin", "org/head"])
def test_a_government_department_is_never_the_payee(anhui: World, payee: str) -> None:
    placed = Order.create(
        stream="order/o1",
        buyer="member/u1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        payee=payee,
    )
    error = anhui.violates(7, lambda: anhui.app.save(placed))
    assert f"payee {payee} is a government department" in error.problem


def test_the_operator_may_collect_as_payee(anhui: World) -> None:
    placed = Order.create(
        stream="order/o1",
        buyer="member/u1",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        payee="org/operator",
    )
    anhui.app.save(placed)


# -- government purchases (AH 18) -----------------------------------------------------------------


def request_purchase(world: World) -> GovernmentPurchase:
    purchase = GovernmentPurchase.request(
        stream="purchase/g1",
        department="org/county-hr",
        purpose="为返乡创业人员购买创业辅导",
        budget_fen=1_200_000,
    )
    world.app.save(purchase)
    return purchase


def purchase_order(world: World) -> Order:
    return Order.create(
        stream="order/g1-1",
        buyer="org/county-hr",
        item="item/i1",
        provider="provider/p1",
        channel="online",
        price_fen=PRICE,
        purchase="purchase/g1",
    )


def test_an_unapproved_purchase_is_not_fulfilled(anhui: World) -> None:
    request_purchase(anhui)
    fulfilling = purchase_order(anhui)
    error = anhui.rejected(lambda: anhui.app.save(fulfilling), LifecycleError)
    assert "not an approved purchase" in str(error)


def test_a_department_does_not_approve_its_own_purchase(anhui: World) -> None:
    purchase = request_purchase(anhui)
    purchase.approve(actor="org/county-hr", approval_ref="自批")
    anhui.rejected(lambda: anhui.app.save(purchase), LifecycleError)


# -- AH 3, 7: 省人社厅 appoints and revokes the operator ----------------------------------------


def test_the_hr_department_revokes_and_appoints_the_operator(anhui: World) -> None:
    old: Organisation = load(anhui, "org/operator")
    old.withdraw(actor="org/hrss", role="cloud_operator", reason="运营绩效评价不合格 (AH 7)")
    anhui.app.save(old)
    anhui.rejected(lambda: person(anhui, "member/after", date(1990, 5, 5)), NotPermittedError)

    anhui.province.organisation("org/operator2", "新云平台运营商", ["supervisor"])
    new: Organisation = load(anhui, "org/operator2")
    new.grant(actor="org/hrss", role="cloud_operator")
    anhui.app.save(new)
    assert load(anhui, "org/operator2").roles() == {"supervisor", "cloud_operator"}
    assert_complies(anhui)


def test_the_hr_department_appoints_no_other_role(anhui: World) -> None:
    operator: Organisation = load(anhui, "org/operator")
    operator.grant(actor="org/hrss", role="supervisor")
    error = anhui.rejected(lambda: anhui.app.save(operator), LifecycleError)
    assert "org/hrss does not appoint supervisor; only the root grants or withdraws it" in str(
        error
    )
    operator = load(anhui, "org/operator")
    operator.grant(actor="org/operator", role="provincial_hr_department")
    error = anhui.rejected(lambda: anhui.app.save(operator), LifecycleError)
    assert "org/operator does not appoint provincial_hr_department" in str(error)
