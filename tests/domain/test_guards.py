"""What keeps the log compliant when the rules are raced or bypassed.

The read-set guard: a batch is decided against the subjects it read; if another writer
changed any of them before the batch is stored, the store refuses it under the log's write
lock (SubjectsChangedError in ledger/storage.py) and the application reports a conflict.
The index guard does the same for the entries the rules looked up by type (IndexChangedError).
The states the rules read are kept between decisions (SubjectCache in ledger/app.py), and
forgotten as soon as the log shows another writer changed them.
Compliance replay: an entry forced into the log past the rules is found again.

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from ledger.app import LedgerApplication, StreamConflictError, SubjectCache
from ledger.calendar import local_date
from ledger.compliance import check_compliance
from ledger.core.errors import LedgerError
from ledger.domain.catalogue import ServiceItem
from ledger.domain.registration import Agreement, acceptance_stream
from ledger.domain.trading import Order
from ledger.storage import IndexChangedError, SubjectsChangedError
from tests.domain import test_anhui as anhui_world
from tests.domain.world import (
    ITEM,
    WORLD_START,
    World,
    assert_complies,
    client_entry,
    network_provider,
)

FIELDS: dict[str, Any] = dict(ITEM)


pytestmark = pytest.mark.usefixtures("events_on_world_time")


def second_writer(world: World) -> LedgerApplication:
    """Another application on the same database and ledger, as another process would be."""
    return LedgerApplication(
        world.db, world.app.origin, signers=world.keys, clock=lambda: world.now[0]
    )


def blacklist(app: LedgerApplication, subject: str) -> Callable[[], None]:
    def write() -> None:
        found: Any = app.repository.get(subject)
        found.blacklist(actor="platform/hub", reason="虚假宣传")
        app.save(found)

    return write


def meanwhile(
    monkeypatch: pytest.MonkeyPatch, app: LedgerApplication, write: Callable[[], object]
) -> list[bool]:
    """Run ``write`` once, right after ``app`` decides its next batch and before it stores it
    (the rules are decided inside ``save`` and ``submit``); the list records that it ran."""
    decide = app.decide
    calls: list[bool] = []

    def decide_then_write(events: list[Any]) -> Any:
        ctx = decide(events)
        if not calls:
            calls.append(True)
            write()
        return ctx

    monkeypatch.setattr(app, "decide", decide_then_write)
    return calls


def publish(stream: str = "item/i2") -> ServiceItem:
    return ServiceItem.publish(stream=stream, actor="provider/p1", provider="provider/p1", **FIELDS)


def order(stream: str = "order/o1") -> Order:
    return order_of("item/i1", stream)


def order_of(item: str, stream: str = "order/o1") -> Order:
    return Order.create(
        stream=stream,
        buyer="member/e1",
        item=item,
        provider="provider/p1",
        channel="online",
        price_fen=120_000,
    )


COMMANDS: dict[str, Callable[[], Any]] = {"publish an item": publish, "place an order": order}


def stored(world: World, stream: str) -> list[StoredEvent]:
    return list(world.app.recorder.select_events(stream))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_subject_changed_between_decision_and_commit_refuses_the_batch(
    hunan: World, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    world = hunan
    aggregate = COMMANDS[command]()
    meanwhile(monkeypatch, world.app, blacklist(second_writer(world), "provider/p1"))
    before = world.entries

    with pytest.raises(StreamConflictError) as caught:
        world.app.save(aggregate)

    guard = caught.value.__cause__
    assert isinstance(guard, SubjectsChangedError), "the storage read-set guard refused it"
    assert guard.streams == ["provider/p1"]
    assert "provider/p1 changed while this was decided" in str(caught.value)
    assert world.entries == before + 1  # the blacklisting only
    assert stored(world, aggregate.id) == []

    # decided again, against the provider as it now is: rule 4
    world.violates(4, lambda: world.app.save(COMMANDS[command]()))
    assert_complies(world)


def test_a_change_to_a_subject_not_read_does_not_refuse_the_batch(
    hunan: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = hunan
    calls = meanwhile(monkeypatch, world.app, blacklist(second_writer(world), "member/e2"))
    world.app.save(order())
    assert calls, "the other writer wrote between decision and commit"
    assert len(stored(world, "order/o1")) == 1
    assert world.app.repository.get("member/e2").barred == "blacklisted"


def published_item(world: World, stream: str = "item/i2") -> bytes:
    """provider/p1 publishes ``stream``, signed with its own key as a client would sign it."""
    body = {"provider": "provider/p1", "self_operated": False, **FIELDS}
    return client_entry(world, "provider/p1", stream, "ItemPublished", body).raw


def test_a_client_signed_entry_is_guarded_too(
    hunan: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = hunan
    raw = published_item(world)
    meanwhile(monkeypatch, world.app, blacklist(second_writer(world), "provider/p1"))
    before = world.entries
    with pytest.raises(StreamConflictError) as caught:
        world.app.submit(raw)
    assert isinstance(caught.value.__cause__, SubjectsChangedError)
    assert world.entries == before + 1
    assert stored(world, "item/i2") == []


def test_the_recorder_refuses_a_stale_read_set(hunan: World) -> None:
    world = hunan
    version: int = world.app.repository.get("provider/p1").version
    blacklist(second_writer(world), "provider/p1")()
    raw = published_item(world)
    before = world.entries
    with pytest.raises(SubjectsChangedError) as caught:
        world.app.recorder.insert_events(
            [StoredEvent("item/i2", 1, "ItemPublished", raw)],
            read_set={"provider/p1": version, "item/i1": 1},
        )
    assert caught.value.streams == ["provider/p1"]
    assert world.entries == before


def test_an_entry_the_rules_look_up_stored_meanwhile_refuses_the_batch(
    hunan: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """HN 8(3): an admission looks up the agreements for providers in effect; one published
    by another writer between that lookup and the commit is a conflict, not a miss."""
    world = hunan
    second = Agreement.publish(
        stream="agreement/second",
        actor="platform/hub",
        title="服务商数据安全协议",
        parties=["provider"],
        sha256="ef" * 32,
        effective_from=local_date(WORLD_START).isoformat(),
    )
    meanwhile(monkeypatch, world.app, lambda: second_writer(world).save(second))
    before = world.entries
    with pytest.raises(StreamConflictError) as caught:
        network_provider(world)  # applies, signs the agreements in effect, is admitted
    guard = caught.value.__cause__
    assert isinstance(guard, IndexChangedError)
    assert guard.types == ["AgreementPublished"]
    assert "entries of AgreementPublished, which the rules looked up, were stored" in str(
        caught.value
    )
    assert world.entries == before + 1  # the agreement only
    assert stored(world, "provider/net") == []

    network_provider(world)  # decided again: it signs both agreements
    signed = world.app.find("agreements", "provider")
    assert signed == ["agreement/providers", "agreement/second"]
    for agreement in signed:
        assert stored(world, acceptance_stream(agreement, "provider/net"))
    assert_complies(world)


def test_entries_of_types_not_looked_up_do_not_refuse_the_batch(
    hunan: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = hunan
    calls = meanwhile(monkeypatch, world.app, lambda: second_writer(world).save(publish()))
    network_provider(world)
    assert calls
    assert len(stored(world, "provider/net")) > 0


# -- the states the rules read, kept between decisions ----------------------------------------


def provider_command(app: LedgerApplication, command: str) -> Callable[[], None]:
    def write() -> None:
        found: Any = app.repository.get("provider/p1")
        getattr(found, command)(actor="platform/hub", reason="核查")
        app.save(found)

    return write


def test_a_writer_decides_against_what_another_wrote_since_its_last_decision(
    hunan: World,
) -> None:
    world, other = hunan, second_writer(hunan)
    world.app.save(publish("item/i2"))  # provider/p1 read in good standing, and kept

    provider_command(other, "suspend")()
    world.rejected(lambda: world.app.save(publish("item/i3")), LedgerError)
    provider_command(other, "reinstate")()
    world.app.save(publish("item/i3"))

    blacklist(other, "provider/p1")()
    world.violates(4, lambda: world.app.save(publish("item/i4")))
    assert stored(world, "item/i4") == []
    assert_complies(world)


def test_a_stream_that_did_not_exist_is_read_again_once_written(hunan: World) -> None:
    world = hunan
    world.rejected(lambda: world.app.save(order_of("item/i2")), LedgerError)  # no such item
    second_writer(world).save(publish("item/i2"))
    world.app.save(order_of("item/i2"))
    assert len(stored(world, "order/o1")) == 1


def test_a_refused_batch_leaves_the_states_read_as_they_were(hunan: World) -> None:
    world = hunan
    world.app.save(publish("item/i2"))
    provider: Any = world.app.repository.get("provider/p1")
    provider.suspend(actor="platform/hub", reason="核查")
    world.rejected(lambda: world.app.save(provider, publish("item/i3")), LedgerError)
    world.app.save(publish("item/i3"))  # the provider was never suspended
    assert world.app.repository.get("provider/p1").version == provider.version - 1
    assert_complies(world)


def test_after_many_entries_by_another_writer_everything_is_read_again(
    hunan: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, other = hunan, second_writer(hunan)
    world.app.save(publish("item/i2"))
    monkeypatch.setattr(SubjectCache, "CATCH_UP", 2)
    for stream in ("item/i3", "item/i4"):
        other.save(publish(stream))
    blacklist(other, "provider/p1")()
    world.violates(4, lambda: world.app.save(publish("item/i5")))


# -- compliance replay --------------------------------------------------------------------------


def force(world: World, stream: str, type_: str, raw: bytes) -> int:
    """Store ``raw`` below the rules, as a forged database would; return its log index."""
    world.app.recorder.insert_events([StoredEvent(stream, 1, type_, raw)])
    return list(world.app.entries()).index(raw)


def test_replay_finds_an_entry_by_a_blacklisted_provider(hunan: World) -> None:
    world = hunan
    blacklist(world.app, "provider/p1")()
    raw = published_item(world)
    world.violates(4, lambda: world.app.submit(raw))  # the write path refuses it

    index = force(world, "item/i2", "ItemPublished", raw)
    report = check_compliance(world.app.entries())
    assert [(f.index, f.stream, f.type) for f in report.findings] == [
        (index, "item/i2", "ItemPublished")
    ]
    assert "rule 4 (HN 24)" in report.findings[0].problem
    assert f"log index {index}" in str(report.findings[0])


def test_replay_finds_a_voucher_not_issued_by_the_hr_department(anhui: World) -> None:
    world = anhui
    body = {
        "holder": "member/u1",
        "face_value_fen": 100_000,
        "expires_on": "2026-12-31",
        "categories": ["管理咨询"],
    }
    raw = client_entry(world, "org/operator", "voucher/forged", "VoucherIssued", body).raw
    world.violates(6, lambda: world.app.submit(raw))

    index = force(world, "voucher/forged", "VoucherIssued", raw)
    report = check_compliance(world.app.entries())
    assert [(f.index, f.stream) for f in report.findings] == [(index, "voucher/forged")]
    assert "rule 6 (AH 14; AH 17; AH 19)" in report.findings[0].problem


def half_redeemed(world: World) -> int:
    """A voucher redemption forced into the log without its application; its log index."""
    anhui_world.issue(world)
    anhui_world.order(world)
    body = {"order": "order/o1", "amount_fen": 10_000}
    raw = client_entry(world, "member/u1", "voucher/v1", "VoucherRedeemed", body).raw
    world.violates(6, lambda: world.app.submit(raw))
    world.app.recorder.insert_events([StoredEvent("voucher/v1", 2, "VoucherRedeemed", raw)])
    return list(world.app.entries()).index(raw)


def test_replay_finds_a_redemption_left_unapplied_at_the_end_of_the_log(anhui: World) -> None:
    index = half_redeemed(anhui)
    report = check_compliance(anhui.app.entries())
    assert [(f.index, f.stream, f.type) for f in report.findings] == [
        (index, "voucher/v1", "VoucherRedeemed")
    ]
    assert "followed at once by its VoucherApplied" in report.findings[0].problem
    assert "the log ends" in report.findings[0].problem


def test_replay_finds_a_redemption_followed_by_something_else(anhui: World) -> None:
    index = half_redeemed(anhui)
    placed: Order = anhui.app.repository.get("order/o1")
    placed.initiate_payment(method="wechat_pay")  # the full price: the voucher ignored
    anhui.app.save(placed)
    report = check_compliance(anhui.app.entries())
    assert [(f.index, f.stream, f.type) for f in report.findings] == [
        (index + 1, "order/o1", "PaymentInitiated")
    ]
    assert "PaymentInitiated came next" in report.findings[0].problem
