"""`ledger demo` builds, verifies and summarises; exit codes follow the contract."""

from __future__ import annotations

import io
import json
import random
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from api.cli import main
from ledger.calendar import TIME_ZONE, local_date, timeliness
from ledger.core.envelope import Envelope, decode_entry, parse_time
from ledger.demo import overdue_basis
from ledger.policy import load_pack
from ledger.storage import Database

HUNAN, ANHUI = "hunan-sme-2015", "anhui-startup-2017"
MISCONDUCT = "misconduct planted for detection"
SUPERVISION = "supervision recorded"
REFUSED = "rules exercised"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out, err)
    return code, out.getvalue(), err.getvalue()


def test_demo_then_verify(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_KEYSTORE_PASSPHRASE", raising=False)
    code, out, _ = _run("demo", "--db", database_url, "--events", "150")
    assert code == 0
    assert out.count("entries intact") == 2
    assert "ServiceRecorded" in out
    assert "KeyRegistered" in out
    code, out, _ = _run("verify", "--db", database_url, "--json")
    assert code == 0
    report = json.loads(out)
    assert report["ok"] is True
    assert {r["origin"] for r in report["ledgers"]} == {
        "demo.ledger.example.cn/hunan-sme-2015/run-1",
        "demo.ledger.example.cn/anhui-startup-2017/run-1",
    }
    assert all(r["entries"] >= 150 for r in report["ledgers"])


def test_demo_with_custodial_keystore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_KEYSTORE_PASSPHRASE", "demo passphrase")
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    code, out, err = _run("demo", "--db", url, "--policy", "hunan-sme-2015", "--events", "120")
    assert code == 0, err
    assert "keys are kept in memory" not in err
    assert out.count("entries intact") == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["demo", "--events", "5"], "at least 100"),
        (["demo", "--policy", "mars-2030"], "invalid choice"),
        (["verify", "--db", "ftp://x"], "expected a sqlite:/// or postgresql:// URL"),
        (["frobnicate"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2_without_traceback(argv: list[str], message: str) -> None:
    code, _, err = _run(*argv)
    assert code == 2
    assert message in err
    assert "Traceback" not in err


def test_bad_setting_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEDGER_MAX_SKEW_SECONDS", "soon")
    code, _, err = _run("verify")
    assert code == 2
    assert "max_skew_seconds" in err


def _entries(url: str) -> list[bytes]:
    from ledger.storage import Database

    db = Database(url)
    try:
        return [row.state for origin in db.origins() for row in db.iter_log(origin)]
    finally:
        db.close()


def test_same_seed_gives_byte_identical_entries(tmp_path: Path) -> None:
    urls = [f"sqlite:///{tmp_path}/{name}.sqlite3" for name in ("a", "b", "c")]
    for url, seed in zip(urls, ("5", "5", "6"), strict=True):
        code, _, err = _run("demo", "--db", url, "--events", "600", "--seed", seed)
        assert code == 0, err
    first, again, other = (_entries(url) for url in urls)
    assert len(first) > 1200
    assert first == again
    assert first != other


def test_summary_names_roles_span_rules_and_compliance(anhui: tuple[str, list[Envelope]]) -> None:
    out, _ = anhui
    assert "time span: 2025-" in out
    assert "provincial_hr_department" in out
    assert "person member" in out
    for refused in ("rule 3 (AH 25)", "rule 6 (", "rule 8 (AH 34)", "rule 4 (AH 28)"):
        assert refused in out
    assert "VoucherRedeemed" in out
    assert "ServiceRecorded" in out
    assert "voucher order priced above the item's normal price" in out
    assert "process compliance (every hard rule replayed from the log): no findings" in out


# -- the summary tells the truth: each count is checked against the log ------------------


def _demo(directory: Path, policy: str, events: str) -> tuple[str, list[Envelope]]:
    url = f"sqlite:///{directory}/demo.sqlite3"
    code, out, err = _run("demo", "--db", url, "--policy", policy, "--events", events)
    assert code == 0, err
    db = Database(url)
    try:
        (origin,) = db.origins()
        return out, [decode_entry(row.state).envelope for row in db.iter_log(origin)]
    finally:
        db.close()


@pytest.fixture(scope="module")
def hunan(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Envelope]]:
    return _demo(tmp_path_factory.mktemp("hunan"), HUNAN, "600")


@pytest.fixture(scope="module")
def anhui(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[Envelope]]:
    return _demo(tmp_path_factory.mktemp("anhui"), ANHUI, "800")


def _section(out: str, heading: str) -> Counter[str]:
    """The counted lines under the summary heading that begins with ``heading``."""
    lines = iter(out.splitlines())
    for line in lines:
        if line.startswith(f"  {heading}"):
            break
    else:
        raise AssertionError(f"the summary has no section {heading!r}")
    counts: Counter[str] = Counter()
    for line in lines:
        found = re.fullmatch(r" {4} *([0-9,]+)  (.+)", line)
        if found is None:
            break
        counts[found[2]] = int(found[1].replace(",", ""))
    return counts


def _labelled(counts: Counter[str], words: str) -> int:
    """The count of the one label containing ``words``."""
    (label,) = [label for label in counts if words in label]
    return counts[label]


def _late_by_carried_deadline(env: Envelope) -> bool:
    deadline = env.body["deadline"]
    return (
        deadline is not None
        and deadline["status"] == "ok"
        and local_date(parse_time(env.time)) > date.fromisoformat(deadline["due"])
    )


def _records_by_digest(log: list[Envelope]) -> dict[str, set[str]]:
    records: defaultdict[str, set[str]] = defaultdict(set)
    for env in log:
        if env.type in ("ServiceRecorded", "EvidenceAttached"):
            for item in env.body["evidence"]:
                records[item["sha256"]].add(env.stream)
    return records


def test_late_records_reported_are_late_by_the_deadline_they_carry(
    hunan: tuple[str, list[Envelope]],
) -> None:
    out, log = hunan
    deadline = load_pack(HUNAN, on=date(2025, 3, 3)).parameters.service_record_deadline
    assert deadline is not None
    recorded = [env for env in log if env.type == "ServiceRecorded"]
    late = [env for env in recorded if _late_by_carried_deadline(env)]
    assert late
    assert _labelled(_section(out, MISCONDUCT), "late service records") == len(late)
    for env in late:  # and late by the working-day calendar itself (HN 23)
        basis = date.fromisoformat(env.body["deadline"]["basis_date"])
        verdict = timeliness(basis, parse_time(env.time), deadline.working_days)
        assert verdict.status == "late", env.stream
    late_streams = {env.stream for env in late}
    for env in recorded:
        if env.stream not in late_streams:
            basis = date.fromisoformat(env.body["deadline"]["basis_date"])
            verdict = timeliness(basis, parse_time(env.time), deadline.working_days)
            assert verdict.status == "timely", env.stream


def test_anhui_plants_and_reports_no_late_records(anhui: tuple[str, list[Envelope]]) -> None:
    out, log = anhui
    assert load_pack(ANHUI, on=date(2025, 3, 3)).parameters.service_record_deadline is None
    recorded = [env for env in log if env.type == "ServiceRecorded"]
    assert recorded
    assert all(env.body["deadline"] is None for env in recorded)
    assert not any("late" in label for label in _section(out, MISCONDUCT))
    # Nothing was planted late either: every record's basis is a few days old at most.
    for env in recorded:
        basis = min(date.fromisoformat(e["basis_date"]) for e in env.body["evidence"])
        assert local_date(parse_time(env.time)) - basis <= timedelta(days=3), env.stream


def test_termination_notice_is_supervision_not_misconduct(
    hunan: tuple[str, list[Envelope]],
) -> None:
    out, log = hunan
    assert not any("termination" in label for label in _section(out, MISCONDUCT))
    notices = [env for env in log if env.type == "PlatformTerminationNoticed"]
    assert len(notices) == 1
    supervision = _section(out, SUPERVISION)
    assert supervision["termination notices given (HN 8(10))"] == 1
    notified = sum(env.type == "PartyNotified" for env in log)
    assert supervision["affected parties notified of a termination (HN 8(10))"] == notified
    assert _labelled(_section(out, REFUSED), "rule 11 (HN 8(10))") == 1


def test_shared_evidence_counted_from_the_log_and_sanctioned_where_planted(
    hunan: tuple[str, list[Envelope]],
) -> None:
    out, log = hunan
    shared = {r for rs in _records_by_digest(log).values() if len(rs) > 1 for r in rs}
    assert len(shared) >= 2
    assert _section(out, MISCONDUCT)["records sharing one evidence file"] == len(shared)
    windows = {env.body["platform"] for env in log if env.stream in shared and env.version == 1}
    (recovery,) = [env for env in log if env.type == "FundRecoveryOrdered"]
    (revocation,) = [env for env in log if env.type == "AwardRevoked"]
    assert windows == {recovery.body["subject"]} == {revocation.body["subject"]}
    # The basis names what was planted before the order: that many records, one file.
    before = {env.stream for env in log[: log.index(recovery)] if env.stream in shared}
    assert len(before) >= 2
    for sanction in (recovery, revocation):
        assert f"{len(before)}条服务记录使用同一证据文件" in sanction.body["basis"]
        assert "HN 25" in sanction.body["basis"]
    supervision = _section(out, SUPERVISION)
    assert supervision["fund recoveries ordered (HN 25)"] == 1
    assert supervision["awards revoked (HN 25)"] == 1


def _keyless_members(log: list[Envelope]) -> list[Envelope]:
    """Members registered without a key: the burst's, which never act."""
    keyed = {env.body["subject"] for env in log if env.type == "KeyRegistered"}
    return [env for env in log if env.type == "MemberRegistered" and env.stream not in keyed]


def test_registration_burst_in_hunan_precedes_a_quarters_assessment(
    hunan: tuple[str, list[Envelope]],
) -> None:
    out, log = hunan
    burst = _keyless_members(log)
    label = "registrations in a burst at a county window"
    assert _labelled(_section(out, MISCONDUCT), label) == len(burst) >= 30
    assert "(HN 13 member minimums)" in out
    days = {local_date(parse_time(env.time)) for env in burst}
    assert len({env.body["platform"] for env in burst}) == 1
    (day,) = days
    assert day.month % 3 == 0
    reports = [env for env in log[log.index(burst[-1]) :] if env.type == "StatisticsReported"]
    assert reports
    assert local_date(parse_time(reports[0].time)) - day < timedelta(days=8)


def test_registration_burst_in_anhui_is_named_for_the_annual_evaluation(
    anhui: tuple[str, list[Envelope]],
) -> None:
    out, log = anhui
    burst = _keyless_members(log)
    misconduct = _section(out, MISCONDUCT)
    assert not any("assessment" in label or "HN" in label for label in misconduct)
    label = "registrations in a burst just before the supervisor's annual evaluation"
    assert _labelled(misconduct, label) == len(burst) >= 30
    assert "the operator (AH 7)" in out
    (evaluation,) = [env for env in log if env.type == "AnnualEvaluationRecorded"]
    assert log.index(burst[-1]) < log.index(evaluation)
    assert _section(out, SUPERVISION)["annual performance evaluations (AH 7)"] == 1


def test_overpriced_voucher_order_counted_and_its_provider_blacklisted(
    anhui: tuple[str, list[Envelope]],
) -> None:
    out, log = anhui
    fee = {env.stream: env.body["fee_fen"] for env in log if env.type == "ItemPublished"}
    created = {env.stream: env.body for env in log if env.type == "OrderCreated"}
    with_voucher = {env.stream for env in log if env.type == "VoucherApplied"}
    overpriced = [o for o in with_voucher if created[o]["price_fen"] > fee[created[o]["item"]]]
    assert len(overpriced) == 1
    label = "voucher order priced above the item's normal price"
    assert _section(out, MISCONDUCT)[label] == 1
    blacklisted = {env.stream for env in log if env.type == "ProviderBlacklisted"}
    assert created[overpriced[0]]["provider"] in blacklisted
    assert _section(out, SUPERVISION)["providers blacklisted (AH 28)"] == len(blacklisted)


@pytest.mark.parametrize("policy", ["hunan", "anhui"])
def test_statistics_periods_are_written_in_their_one_spelling(
    policy: str, request: pytest.FixtureRequest
) -> None:
    _, log = request.getfixturevalue(policy)
    reports = [env for env in log if env.type == "StatisticsReported"]
    assert reports
    for env in reports:
        assert re.fullmatch(r"20[0-9]{2}-Q[1-4]", env.body["period"]), env.body["period"]
        assert env.stream == f"report/{env.body['platform']}/{env.body['period']}"


def test_late_records_are_planted_late_by_the_calendar_across_holidays() -> None:
    hunan = load_pack(HUNAN, on=date(2025, 3, 3))
    deadline = hunan.parameters.service_record_deadline
    assert deadline is not None
    # 12 days back is not late by itself: across National Day 2025, with the make-up
    # Saturday of 11 October, a basis of 29 September is due on 13 October.
    national_day = datetime(2025, 10, 11, 9, tzinfo=TIME_ZONE)
    assert timeliness(date(2025, 9, 29), national_day, deadline.working_days).status == "timely"
    rng, day = random.Random(1), date(2025, 1, 1)  # noqa: S311 - synthetic dates
    while day < date(2026, 12, 1):
        for _ in range(3):
            basis = overdue_basis(hunan, day, rng)
            assert basis is not None, day
            recorded = datetime(day.year, day.month, day.day, 9, tzinfo=TIME_ZONE)
            assert timeliness(basis, recorded, deadline.working_days).status == "late", day
        day += timedelta(days=1)
    anhui = load_pack(ANHUI, on=date(2025, 3, 3))
    assert overdue_basis(anhui, date(2025, 10, 11), rng) is None
