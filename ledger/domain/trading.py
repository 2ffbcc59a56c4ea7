"""Trading: orders and payments, deposits, government purchases, vouchers.

HN 9(5), 19(2), 20, 21, 24; AH 6, 14, 17-20, 28.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.domain.catalogue import ServiceItem
from ledger.domain.complaints import Complaint
from ledger.domain.errors import LifecycleError
from ledger.domain.registration import Member, Organisation, parse_day
from ledger.domain.rules import RuleContext
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

CHANNELS = ("online", "offline")
ORDER_STEPS = ("created", "paying", "settled", "completed")
#: Where an order ends when its deal is undone: its settled payment refunded in full, or
#: the order cancelled before settlement. Nothing is paid, settled or receipted after.
ORDER_ENDS = ("refunded", "cancelled")
#: The steps at which an order is cancelled: nothing was settled yet.
CANCELLABLE = ("created", "paying")


def amount(subject: str, value: Any, what: str = "amount_fen", *, positive: bool = True) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
        raise LifecycleError(
            subject,
            f"{what} must be a {'positive' if positive else 'non-negative'} "
            f"integer number of fen, got {value!r}",
        )
    return value


class Order(LedgerAggregate):
    """Stream ``order/<id>``: one transaction from order to receipt.

    Its status runs through ORDER_STEPS, or ends in one of ORDER_ENDS: "refunded" once
    the settled payment was refunded in full (from "settled" or "completed"; a partial
    refund leaves the status as it is), "cancelled" when the buyer, or the operator that
    settles payments, cancels it before settlement (OrderCancelled), for instance when
    its payment is frozen because the seller or payee was barred after the order
    (check_payable). Vouchers redeemed into a cancelled order are given back first, in
    the same batch (Voucher.VoucherReleased).
    """

    if TYPE_CHECKING:
        buyer: str
        provider: str
        payee: str
        item: str
        channel: str
        price_fen: int
        purchase: str | None
        status: str
        settled_fen: int
        refunded_fen: int
        vouchers_fen: int
        vouchers: set[str]
        receipted_fen: int
        receipts: dict[str, int]
        risk_noticed: bool
        completed: bool
        evaluated: bool
        cancelled: str | None

    class OrderCreated(LedgerCreated):
        buyer: str
        item: str
        provider: str
        payee: str
        channel: str
        price_fen: int
        purchase: str | None  # a government purchase this order fulfils (AH 18)

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.channel not in CHANNELS:
                raise LifecycleError(stream, f"channel {self.channel!r} is not one of {CHANNELS}")
            if self.actor != self.buyer:
                raise LifecycleError(stream, f"an order is placed by its buyer, not {self.actor}")
            amount(stream, self.price_fen, "price_fen", positive=False)
            item = ctx.subject(self.item, ServiceItem, "service item")
            if item.withdrawn:
                raise LifecycleError(stream, f"{self.item} was withdrawn")
            if item.provider != self.provider:
                raise LifecycleError(stream, f"{self.item} is offered by {item.provider}")
            seller = ctx.get(self.provider)
            seller.standing(ctx)  # no trading with an unverified, unadmitted or barred seller
            ctx.require(
                7,
                not item.free or self.price_fen == 0,
                f"{self.item} is a free service; the order cannot charge {self.price_fen} fen",
            )
            # The price may differ from the item's fee (a promotion, a negotiated deal; a
            # voucher order above the fee is a fraud signal, not a refusal), but a paid
            # service bought for nothing would count as a served transaction unpaid.
            if not item.free and self.price_fen == 0:
                raise LifecycleError(
                    stream, f"{self.item} is a commercial service: its order has a positive price"
                )
            _check_payee(ctx, stream, self.payee, self.provider)
            _check_purchase(ctx, stream, self.buyer, self.price_fen, self.purchase)

        def apply(self, aggregate: Any) -> None:
            for name in ("buyer", "provider", "payee", "item", "channel", "price_fen", "purchase"):
                setattr(aggregate, name, getattr(self, name))
            aggregate.status = "created"
            aggregate.settled_fen = aggregate.refunded_fen = aggregate.vouchers_fen = 0
            aggregate.receipted_fen, aggregate.receipts = 0, {}
            aggregate.vouchers = set()
            aggregate.risk_noticed = aggregate.completed = aggregate.evaluated = False
            aggregate.cancelled = None

    class RiskNoticeDelivered(LedgerEvent):
        notice_sha256: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.channel != "offline":
                raise LifecycleError(state.id, "risk notices are for offline deals (AH 20)")
            if state.risk_noticed:
                raise LifecycleError(state.id, "the risk notice was already delivered")
            state.check_not_cancelled("risk notice")

        def apply(self, aggregate: Any) -> None:
            aggregate.risk_noticed = True

    class PaymentInitiated(LedgerEvent):
        amount_fen: int
        method: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.step("created", self.actor, state.buyer)
            state.check_payable(ctx)
            notice = ctx.policy.parameters.offline_risk_notice
            if notice is not None and state.channel == "offline" and not state.risk_noticed:
                raise LifecycleError(
                    state.id,
                    "an offline deal is paid only after the operator's notice of its risks and "
                    f"the complaint channels ({'; '.join(notice.articles)})",
                )
            due = state.price_fen - state.vouchers_fen
            if amount(state.id, self.amount_fen) != due:
                raise LifecycleError(
                    state.id, f"the amount due is {due} fen, not {self.amount_fen}"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "paying"

    class PaymentSettled(LedgerEvent):
        payment_ref: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.step("paying", self.actor)
            state.check_payable(ctx)
            due = state.price_fen - state.vouchers_fen
            if amount(state.id, self.amount_fen) != due or not self.payment_ref:
                raise LifecycleError(
                    state.id, f"settlement of {due} fen needs the payment service's reference"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.settled_fen = "settled", self.amount_fen

    class PaymentRefunded(LedgerEvent):
        payment_ref: str
        amount_fen: int
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.settled_fen == 0:
                raise LifecycleError(state.id, "nothing was settled to refund")
            left = state.settled_fen - state.refunded_fen
            if amount(state.id, self.amount_fen) > left:
                raise LifecycleError(state.id, f"only {left} fen can still be refunded")

        def apply(self, aggregate: Any) -> None:
            aggregate.refunded_fen += self.amount_fen
            if aggregate.refunded_fen == aggregate.settled_fen:
                aggregate.status = "refunded"  # the deal is undone, delivered or not

    class OrderCompleted(LedgerEvent):
        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            state.check_not_cancelled("completion")
            if state.status == "refunded":
                raise LifecycleError(
                    state.id,
                    f"its payment of {state.settled_fen} fen was refunded in full: "
                    "a refunded order does not complete as a service delivered",
                )
            paid = state.status == "settled" or (
                state.status == "created" and state.price_fen == state.vouchers_fen
            )
            if not paid:
                raise LifecycleError(state.id, f"is {state.status}; it completes once paid")
            if self.actor != state.provider:
                raise LifecycleError(state.id, f"the provider {state.provider} completes it")

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.completed = "completed", True

    class OrderCancelled(LedgerEvent):
        """The buyer, or an operator that settles payments (HN 20; AH 19), cancels an order
        not yet settled: a payment initiated is released, and so is the buyer when the
        payment is frozen (rule 4, check_payable). A settled payment is refunded instead
        (PaymentRefunded). Each voucher applied to the order is given back to its holder
        first, in the same batch (Voucher.VoucherReleased), as a voucher system returns
        the amount of a transaction that did not take place; a government purchase keeps
        the order's amount spent (GovernmentPurchase)."""

        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            state.check_not_cancelled("cancellation")
            if state.status not in CANCELLABLE:
                raise LifecycleError(
                    state.id,
                    f"is {state.status}: only an order not yet settled is cancelled; "
                    "a settled payment is refunded",
                )
            state.check_canceller(ctx, self.actor)
            if not self.reason.strip():
                raise LifecycleError(state.id, "a cancellation gives its reason")
            for name in sorted(state.vouchers):
                voucher = ctx.subject(name, Voucher, "voucher")
                if state.id not in voucher.released:
                    raise LifecycleError(
                        state.id,
                        f"{name} was redeemed in it for {voucher.redemptions.get(state.id)} "
                        "fen: the voucher is given back first (VoucherReleased), in the same "
                        "batch",
                    )

        def apply(self, aggregate: Any) -> None:
            aggregate.status, aggregate.cancelled = "cancelled", self.reason
            aggregate.vouchers_fen = 0  # given back to the vouchers

    class ReceiptIssued(LedgerEvent):
        receipt_no: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if state.status in ORDER_ENDS:
                raise LifecycleError(
                    state.id, f"is {state.status}: no receipt is issued for an undone deal"
                )
            if state.status not in ("settled", "completed") or self.actor != state.provider:
                raise LifecycleError(state.id, "the provider issues a receipt once paid (HN 9(5))")
            if not self.receipt_no or self.receipt_no in state.receipts:
                raise LifecycleError(
                    state.id, f"receipt number {self.receipt_no!r} is empty or already issued"
                )
            amount(state.id, self.amount_fen)
            paid = state.paid_fen
            if state.receipted_fen + self.amount_fen > paid:
                raise LifecycleError(
                    state.id,
                    f"receipts cover at most the {paid} fen paid ({state.receipted_fen} fen "
                    f"already receipted), not {self.amount_fen} fen more (HN 9(5))",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.receipts[self.receipt_no] = self.amount_fen
            aggregate.receipted_fen += self.amount_fen

    class VoucherApplied(LedgerEvent):
        voucher: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            voucher = ctx.subject(self.voucher, Voucher, "voucher")
            if voucher.redemptions.get(state.id) != self.amount_fen:
                raise LifecycleError(
                    state.id,
                    f"{self.voucher} was not redeemed for {self.amount_fen} fen in this order; "
                    "the redemption is written first, in the same batch",
                )
            state.step("created", self.actor, state.buyer)
            ctx.require(  # its one redemption counts once: the price does not drop again
                6,
                self.voucher not in state.vouchers,
                f"{self.voucher} was already applied to {state.id}",
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.vouchers_fen += self.amount_fen
            aggregate.vouchers.add(self.voucher)

    class OrderEvaluated(LedgerEvent):
        score: int
        comment: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            ctx.require(
                9,
                self.actor == state.buyer,
                f"only the buyer {state.buyer} evaluates {state.id}, not {self.actor}",
            )
            ctx.require(9, not state.evaluated, f"{state.id} has already been evaluated")
            # A completed order refunded in full afterwards is still evaluated: the service
            # was delivered, and an unhappy buyer's evaluation is the typical one (HN 19(2)).
            # An order refunded, or cancelled, before completion delivered nothing.
            if not state.completed:
                raise LifecycleError(state.id, "is evaluated only once completed")
            _score(ctx, state.id, self.score)

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluated = True

    def step(self, status: str, actor: str, by: str | None = None) -> None:
        if self.status != status:
            raise LifecycleError(self.id, f"is {self.status}, not {status}")
        if by is not None and actor != by:
            raise LifecycleError(self.id, f"this step is taken by {by}, not {actor}")

    def check_not_cancelled(self, what: str) -> None:
        if self.cancelled is not None:
            raise LifecycleError(self.id, f"was cancelled ({self.cancelled}): no {what} follows")

    def check_canceller(self, ctx: RuleContext, actor: str) -> None:
        """An order is cancelled by its buyer, or by an operator that settles payments (the
        roles the policy lets write PaymentSettled: the hub platform, HN 20; the cloud
        operator, AH 19), never by the seller or anyone else."""
        settlement = ctx.policy.permissions.get("PaymentSettled")
        settlers = settlement.roles if settlement is not None else ()
        if actor != self.buyer and not set(settlers) & ctx.roles(actor):
            raise LifecycleError(
                self.id,
                f"is cancelled by its buyer {self.buyer} or an operator settling payments "
                f"({', '.join(settlers)}), not by {actor}",
            )

    @property
    def paid_fen(self) -> int:
        """What was paid and not refunded: settled by the buyer, and redeemed vouchers."""
        return self.settled_fen - self.refunded_fen + self.vouchers_fen

    def check_payable(self, ctx: RuleContext) -> None:
        """Rule 4 (AH 28; HN 24): no payment is made, nor settled, to a seller or payee
        barred after the order was placed. Its pending payment is frozen: the order stays
        where it is and never completes (the seller cannot complete it either)."""
        for who, subject in (("seller", self.provider), ("payee", self.payee)):
            barred = getattr(ctx.get(subject), "barred", None)
            ctx.require(
                4,
                barred is None,
                f"the {who} {subject} is {barred}: payments of {self.id} are frozen",
            )

    @classmethod
    def create(
        cls,
        *,
        stream: str,
        buyer: str,
        item: str,
        provider: str,
        channel: str,
        price_fen: int,
        payee: str | None = None,
        purchase: str | None = None,
    ) -> Order:
        return cls._create(
            cls.OrderCreated,
            id=stream,
            actor=buyer,
            buyer=buyer,
            item=item,
            provider=provider,
            payee=payee or provider,
            channel=channel,
            price_fen=price_fen,
            purchase=purchase,
        )

    def deliver_risk_notice(self, *, actor: str, notice_sha256: str) -> None:
        self.trigger_event(self.RiskNoticeDelivered, actor=actor, notice_sha256=notice_sha256)

    def initiate_payment(self, *, method: str) -> None:
        self.trigger_event(
            self.PaymentInitiated,
            actor=self.buyer,
            amount_fen=self.price_fen - self.vouchers_fen,
            method=method,
        )

    def settle(self, *, actor: str, payment_ref: str) -> None:
        self.trigger_event(
            self.PaymentSettled,
            actor=actor,
            payment_ref=payment_ref,
            amount_fen=self.price_fen - self.vouchers_fen,
        )

    def refund(self, *, actor: str, payment_ref: str, amount_fen: int, reason: str) -> None:
        self.trigger_event(
            self.PaymentRefunded,
            actor=actor,
            payment_ref=payment_ref,
            amount_fen=amount_fen,
            reason=reason,
        )

    def complete(self) -> None:
        self.trigger_event(self.OrderCompleted, actor=self.provider)

    def cancel(self, *, actor: str, reason: str, vouchers: Sequence[Voucher] = ()) -> None:
        """Cancel the order, giving ``vouchers`` (each voucher applied to it) back first;
        save the vouchers, then the order, together."""
        for voucher in vouchers:
            voucher.release(order=self, actor=actor)
        self.trigger_event(self.OrderCancelled, actor=actor, reason=reason)

    def issue_receipt(self, *, receipt_no: str, amount_fen: int | None = None) -> None:
        """A receipt for ``amount_fen``, by default for all that is paid and not receipted."""
        self.trigger_event(
            self.ReceiptIssued,
            actor=self.provider,
            receipt_no=receipt_no,
            amount_fen=self.paid_fen - self.receipted_fen if amount_fen is None else amount_fen,
        )

    def evaluate(self, *, actor: str, score: int, comment: str) -> None:
        self.trigger_event(self.OrderEvaluated, actor=actor, score=score, comment=comment)


def _check_payee(ctx: RuleContext, stream: str, payee: str, seller: str) -> None:
    """Who is paid (rule 7, AH 6): the seller itself, or the operator that settles the
    platform's payments (the roles the policy lets write PaymentSettled: the hub platform,
    HN 20; the cloud operator, AH 19); never a government body, nor a barred subject."""
    payees = ctx.policy.parameters.government_payees
    if payees is not None:
        government = set(payees.roles) & ctx.roles(payee)
        ctx.require(
            7,
            not government,
            f"the payee {payee} is a government department ({', '.join(sorted(government))})",
        )
    if payee == seller:
        return
    settlement = ctx.policy.permissions.get("PaymentSettled")
    settlers = settlement.roles if settlement is not None else ()
    if not set(settlers) & ctx.roles(payee):
        raise LifecycleError(
            stream,
            f"the payee {payee} is neither the seller {seller} nor an operator settling "
            f"payments ({', '.join(settlers)})",
        )
    ctx.get(payee).standing(ctx)


def _purchase_rule(ctx: RuleContext) -> tuple[tuple[str, ...], str] | None:
    """Who must consent to a government purchase, and the articles (AH 18); None where
    the policy has no government purchases."""
    approval = ctx.policy.permissions.get("PurchaseApproved")
    if approval is None:
        return None
    return approval.roles, "; ".join(approval.articles) or "ledger"


def _check_purchase(
    ctx: RuleContext, stream: str, buyer: str, price_fen: int, purchase: str | None
) -> None:
    """A government department buys only under its own purchase, consented to by every
    approving role and placed within its budget (AH 18); a member never does."""
    rule = _purchase_rule(ctx)
    if purchase is None:
        if rule is not None and isinstance(ctx.get(buyer), Organisation):
            raise LifecycleError(
                stream,
                f"{buyer} is a government body: it buys only under an approved "
                f"government purchase ({rule[1]})",
            )
        return
    state = ctx.subject(purchase, GovernmentPurchase, "government purchase")
    if state.department != buyer:
        raise LifecycleError(
            stream, f"{purchase} is a purchase of {state.department}, not of {buyer}"
        )
    state.check_approved(ctx)
    if state.orders.get(stream) != price_fen:
        raise LifecycleError(
            stream,
            f"{purchase} did not place this order for {price_fen} fen: its "
            "PurchaseOrderPlaced is written first, in the same batch",
        )


def _score(ctx: RuleContext, subject: str, score: Any) -> None:
    top = ctx.policy.parameters.satisfied_evaluation.scale_max
    if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= top:
        raise LifecycleError(subject, f"a score is 1..{top}, got {score!r}")


class Deposit(LedgerAggregate):
    """Stream ``deposit/<provider>``: a provider's consumer-protection deposit (HN 21)."""

    if TYPE_CHECKING:
        provider: str
        balance_fen: int
        claims: list[str]

    class DepositPaid(LedgerCreated):
        provider: str
        amount_fen: int
        payment_ref: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            _deposit_stream(self)
            amount(self.originator_id, self.amount_fen)

        def apply(self, aggregate: Any) -> None:
            aggregate.provider, aggregate.balance_fen = self.provider, self.amount_fen
            aggregate.claims = []

    class DepositToppedUp(LedgerEvent):
        amount_fen: int
        payment_ref: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            amount(state.id, self.amount_fen)
            if self.actor != state.provider:
                raise LifecycleError(state.id, f"only {state.provider} tops up its deposit")

        def apply(self, aggregate: Any) -> None:
            aggregate.balance_fen += self.amount_fen

    class DepositClaimed(LedgerEvent):
        amount_fen: int
        complaint: str
        beneficiary: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if amount(state.id, self.amount_fen) > state.balance_fen:
                raise LifecycleError(state.id, f"the balance is {state.balance_fen} fen")
            complaint = ctx.subject(self.complaint, Complaint, "complaint")
            if complaint.respondent != state.provider or complaint.status not in (
                "resolved",
                "closed",
            ):
                raise LifecycleError(
                    state.id, f"{self.complaint} is not a resolved complaint against the provider"
                )
            if self.beneficiary != complaint.complainant:
                raise LifecycleError(
                    state.id, f"compensation goes to the complainant {complaint.complainant}"
                )
            if self.complaint in state.claims:
                raise LifecycleError(state.id, f"{self.complaint} was already compensated")

        def apply(self, aggregate: Any) -> None:
            aggregate.balance_fen -= self.amount_fen
            aggregate.claims.append(self.complaint)

    class DepositReturned(LedgerEvent):
        amount_fen: int
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if amount(state.id, self.amount_fen) > state.balance_fen:
                raise LifecycleError(state.id, f"the balance is {state.balance_fen} fen")

        def apply(self, aggregate: Any) -> None:
            aggregate.balance_fen -= self.amount_fen

    @classmethod
    def pay(cls, *, provider: str, amount_fen: int, payment_ref: str) -> Deposit:
        return cls._create(
            cls.DepositPaid,
            id=f"deposit/{provider}",
            actor=provider,
            provider=provider,
            amount_fen=amount_fen,
            payment_ref=payment_ref,
        )

    def top_up(self, *, amount_fen: int, payment_ref: str) -> None:
        self.trigger_event(
            self.DepositToppedUp,
            actor=self.provider,
            amount_fen=amount_fen,
            payment_ref=payment_ref,
        )

    def claim(self, *, actor: str, amount_fen: int, complaint: str, beneficiary: str) -> None:
        self.trigger_event(
            self.DepositClaimed,
            actor=actor,
            amount_fen=amount_fen,
            complaint=complaint,
            beneficiary=beneficiary,
        )

    def give_back(self, *, actor: str, amount_fen: int, reason: str) -> None:
        self.trigger_event(self.DepositReturned, actor=actor, amount_fen=amount_fen, reason=reason)


def _deposit_stream(event: Any) -> None:
    if event.originator_id != f"deposit/{event.provider}" or event.actor != event.provider:
        raise LifecycleError(
            event.originator_id,
            f"a deposit of {event.provider} is paid by it into deposit/{event.provider}",
        )


class GovernmentPurchase(LedgerAggregate):
    """Stream ``purchase/<id>``: a department's purchase of services (AH 18).

    AH 18: a city or county department buys through the platform 经省财政厅、省人社厅同意,
    with the consent of both provincial departments. Every role the policy lets write
    PurchaseApproved must have consented, each by an approval of a body holding it, before
    any order is placed under the purchase. Each order is placed on the purchase first
    (PurchaseOrderPlaced, then the order's OrderCreated for the same price), so the prices
    of all its orders never exceed the budget. A refund does not give budget back: the
    consent was for that spending, and what was ordered stays ordered (as does an order
    placed but never made, or cancelled); buying again takes a new purchase, requested and
    approved.
    """

    if TYPE_CHECKING:
        department: str
        budget_fen: int
        approvals: dict[str, str]
        orders: dict[str, int]
        ordered_fen: int

    class PurchaseRequested(LedgerCreated):
        department: str
        purpose: str
        budget_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            if self.actor != self.department:
                raise LifecycleError(self.originator_id, "a department requests its own purchase")
            amount(self.originator_id, self.budget_fen, "budget_fen")

        def apply(self, aggregate: Any) -> None:
            aggregate.department, aggregate.budget_fen = self.department, self.budget_fen
            aggregate.approvals, aggregate.orders, aggregate.ordered_fen = {}, {}, 0

    class PurchaseApproved(LedgerEvent):
        approval_ref: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            if self.actor == state.department:
                raise LifecycleError(state.id, "a department does not approve its own purchase")
            if self.actor in state.approvals:
                raise LifecycleError(state.id, f"{self.actor} already approved it")
            rule = _purchase_rule(ctx)
            needed = set(rule[0]) if rule is not None else set()
            held = ctx.roles(self.actor) & needed
            if held and not held - state.consents(ctx):
                raise LifecycleError(
                    state.id, f"the consent of {', '.join(sorted(held))} was already given"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.approvals[self.actor] = self.approval_ref

    class PurchaseOrderPlaced(LedgerEvent):
        order: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            if self.actor != state.department:
                raise LifecycleError(state.id, f"its orders are placed by {state.department}")
            articles = state.check_approved(ctx)
            amount(state.id, self.amount_fen)
            if self.order in state.orders:
                raise LifecycleError(state.id, f"{self.order} was already placed")
            if ctx.get(self.order) is not None:
                raise LifecycleError(
                    state.id, f"{self.order} already exists: an order is placed before it is made"
                )
            left = state.budget_fen - state.ordered_fen
            if self.amount_fen > left:
                raise LifecycleError(
                    state.id,
                    f"{self.order} for {self.amount_fen} fen exceeds what is left of the "
                    f"budget, {left} of {state.budget_fen} fen ({articles})",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.orders[self.order] = self.amount_fen
            aggregate.ordered_fen += self.amount_fen

    def consents(self, ctx: RuleContext) -> set[str]:
        """The approving roles (AH 18) held by the bodies that approved this purchase."""
        rule = _purchase_rule(ctx)
        needed = set(rule[0]) if rule is not None else set()
        return {role for approver in self.approvals for role in ctx.roles(approver) & needed}

    def check_approved(self, ctx: RuleContext) -> str:
        """LifecycleError unless every approving role consented; the articles saying so."""
        rule = _purchase_rule(ctx)
        if rule is None:
            raise LifecycleError(self.id, f"{ctx.policy.name} has no government purchases")
        roles, articles = rule
        given = self.consents(ctx)
        if missing := [role for role in roles if role not in given]:
            raise LifecycleError(
                self.id,
                f"is not an approved purchase of {self.department}: the consent of "
                f"{', '.join(missing)} is missing ({articles})",
            )
        return articles

    @classmethod
    def request(
        cls, *, stream: str, department: str, purpose: str, budget_fen: int
    ) -> GovernmentPurchase:
        return cls._create(
            cls.PurchaseRequested,
            id=stream,
            actor=department,
            department=department,
            purpose=purpose,
            budget_fen=budget_fen,
        )

    def approve(self, *, actor: str, approval_ref: str) -> None:
        self.trigger_event(self.PurchaseApproved, actor=actor, approval_ref=approval_ref)

    def place(self, order: Order) -> None:
        """Place ``order`` under this purchase; save the purchase, then the order, together."""
        self.trigger_event(
            self.PurchaseOrderPlaced,
            actor=self.department,
            order=order.id,
            amount_fen=order.price_fen,
        )


class Voucher(LedgerAggregate):
    """Stream ``voucher/<id>``: an electronic entrepreneurship voucher (AH 17, 19).

    ``redemptions`` lists every order it was redeemed in, ``released`` those of them
    cancelled before settlement, whose amount went back to the voucher; ``redeemed_fen``
    is what stays redeemed, so the holder may redeem the amount given back again, in
    another order, before the voucher expires."""

    if TYPE_CHECKING:
        holder: str
        face_value_fen: int
        expires_on: str
        categories: list[str]
        redeemed_fen: int
        redemptions: dict[str, int]
        released: dict[str, int]
        expired: bool

    class VoucherIssued(LedgerCreated):
        holder: str
        face_value_fen: int
        expires_on: str
        categories: list[str]

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            issuer = ctx.policy.parameters.voucher_issuer
            role = issuer.role if issuer is not None else None
            ctx.require(
                6,
                role in ctx.roles(self.actor),
                f"vouchers are issued only by {role}; {self.actor} is not",
            )
            stream = self.originator_id
            amount(stream, self.face_value_fen, "face_value_fen")
            holder = ctx.subject(self.holder, Member, "member")
            holder.check_not_barred(ctx, "member")
            holder.check_present()  # a member who left is issued nothing
            if parse_day(self.expires_on, stream, "expires_on") <= ctx.day or not self.categories:
                raise LifecycleError(stream, "a voucher names categories and a future expiry")

        def apply(self, aggregate: Any) -> None:
            aggregate.holder, aggregate.face_value_fen = self.holder, self.face_value_fen
            aggregate.expires_on, aggregate.categories = self.expires_on, list(self.categories)
            aggregate.redeemed_fen, aggregate.redemptions, aggregate.expired = 0, {}, False
            aggregate.released = {}

    class VoucherRedeemed(LedgerEvent):
        order: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            ctx.require(
                6, self.actor == state.holder, f"only the holder {state.holder} redeems {state.id}"
            )
            order = ctx.subject(self.order, Order, "order")
            item = ctx.get(order.item)
            ctx.require(7, not item.free, f"no voucher on the free service {order.item}")
            ctx.require(
                6,
                not item.withdrawn,
                f"{order.item} was withdrawn: a voucher is redeemed only for an item on offer",
            )
            ctx.require(
                6,
                order.channel == "online",
                f"{self.order} is an offline deal; vouchers are redeemed online only",
            )
            ctx.require(
                6,
                order.buyer == state.holder and order.status == "created",
                f"{self.order} is not an unpaid order of {state.holder}",
            )
            ctx.require(
                6,
                item.fields["category"] in state.categories,
                f"category {item.fields['category']} is not eligible for {state.id}",
            )
            ctx.require(
                6,
                not state.expired and ctx.day <= date.fromisoformat(state.expires_on),
                f"{state.id} expired on {state.expires_on}",
            )
            ctx.require(
                6,
                self.order not in state.redemptions,
                f"{state.id} was already redeemed in {self.order}",
            )
            amount(state.id, self.amount_fen)
            ctx.require(
                6,
                state.redeemed_fen + self.amount_fen <= state.face_value_fen,
                f"redeeming {self.amount_fen} fen would exceed the face value "
                f"{state.face_value_fen} ({state.redeemed_fen} already redeemed)",
            )
            ctx.require(
                6,
                order.vouchers_fen + self.amount_fen <= order.price_fen,
                f"{self.order} costs {order.price_fen} fen",
            )

            voucher, fen = state.id, self.amount_fen

            def applies_it(event: LedgerEvent) -> bool:
                return (
                    isinstance(event, Order.VoucherApplied)
                    and event.originator_id == self.order
                    and event.voucher == voucher
                    and event.amount_fen == fen
                )

            # Redeemed but not applied, the order would still be paid in full: the issuer
            # would pay the provider the voucher's value on top (a double payment).
            ctx.expect_next(
                6,
                applies_it,
                f"redeeming {voucher} for {fen} fen must be followed at once by its "
                f"VoucherApplied to {self.order}",
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.redeemed_fen += self.amount_fen
            aggregate.redemptions[self.order] = self.amount_fen

    class VoucherReleased(LedgerEvent):
        """The amount redeemed in an order cancelled before settlement goes back to the
        voucher (AH 17, 19: the voucher pays only for a transaction made on the platform);
        the order's OrderCancelled comes next, by the same actor. An expired voucher takes
        its amount back too, and stays expired."""

        order: str
        amount_fen: int

        def check(self, state: Any, ctx: RuleContext) -> None:
            order = ctx.subject(self.order, Order, "order")
            redeemed = state.redemptions.get(self.order)
            if redeemed is None or self.order in state.released:
                raise LifecycleError(state.id, f"holds no redemption in {self.order} to give back")
            if self.amount_fen != redeemed:
                raise LifecycleError(
                    state.id,
                    f"was redeemed for {redeemed} fen in {self.order}, not {self.amount_fen}",
                )
            if order.status not in CANCELLABLE:
                raise LifecycleError(
                    state.id,
                    f"{self.order} is {order.status}: a voucher is given back only from an "
                    "order cancelled before settlement",
                )
            order.check_canceller(ctx, self.actor)

            actor, stream = self.actor, self.order

            def cancels_it(event: LedgerEvent) -> bool:
                if event.actor != actor:
                    return False
                if isinstance(event, Voucher.VoucherReleased):
                    return event.order == stream  # the order's next voucher
                return isinstance(event, Order.OrderCancelled) and event.originator_id == stream

            # Given back without the cancellation, the voucher would be spent again while
            # the order still counts it as paid: the provider would be paid it twice.
            ctx.expect_next(
                6,
                cancels_it,
                f"giving {state.id}'s {redeemed} fen back must be followed at once by the "
                f"OrderCancelled of {self.order}",
            )

        def apply(self, aggregate: Any) -> None:
            aggregate.redeemed_fen -= self.amount_fen
            aggregate.released[self.order] = self.amount_fen

    class VoucherExpired(LedgerEvent):
        def check(self, state: Any, ctx: RuleContext) -> None:
            if state.expired or ctx.day <= date.fromisoformat(state.expires_on):
                raise LifecycleError(state.id, f"runs until {state.expires_on}")

        def apply(self, aggregate: Any) -> None:
            aggregate.expired = True

    @classmethod
    def issue(
        cls,
        *,
        stream: str,
        actor: str,
        holder: str,
        face_value_fen: int,
        expires_on: str,
        categories: list[str],
    ) -> Voucher:
        return cls._create(
            cls.VoucherIssued,
            id=stream,
            actor=actor,
            holder=holder,
            face_value_fen=face_value_fen,
            expires_on=expires_on,
            categories=categories,
        )

    def redeem(self, *, order: Order, amount_fen: int) -> None:
        """Redeem in ``order``; save the voucher, then the order, together."""
        self.trigger_event(
            self.VoucherRedeemed, actor=self.holder, order=order.id, amount_fen=amount_fen
        )
        order.trigger_event(
            Order.VoucherApplied, actor=self.holder, voucher=self.id, amount_fen=amount_fen
        )

    def release(self, *, order: Order, actor: str) -> None:
        """Give back what was redeemed in ``order``; its cancellation follows (Order.cancel)."""
        self.trigger_event(
            self.VoucherReleased,
            actor=actor,
            order=order.id,
            amount_fen=self.redemptions.get(order.id, 0),
        )

    def expire(self, *, actor: str) -> None:
        self.trigger_event(self.VoucherExpired, actor=actor)
