"""`ledger demo` builds, verifies and summarises; exit codes follow the contract."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from api.cli import main


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


def test_summary_names_roles_span_rules_and_compliance(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.sqlite3"
    code, out, err = _run("demo", "--db", url, "--policy", "anhui-startup-2017", "--events", "800")
    assert code == 0, err
    assert "time span: 2025-" in out
    assert "provincial_hr_department" in out
    assert "person member" in out
    for refused in ("rule 3 (AH 25)", "rule 6 (", "rule 8 (AH 34)", "rule 4 (AH 28)"):
        assert refused in out
    assert "VoucherRedeemed" in out
    assert "ServiceRecorded" in out
    assert "voucher order priced above the item's normal price" in out
    assert "process compliance (every hard rule replayed from the log): no findings" in out
