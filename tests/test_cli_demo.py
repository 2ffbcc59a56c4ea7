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
