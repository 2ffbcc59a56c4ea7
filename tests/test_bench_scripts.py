"""The benchmarks in scripts/ run, on real SQLite and PostgreSQL, and leave nothing behind.

These check that the benchmarks work and report what they say; they time nothing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import psycopg
import pytest

from scripts import bench_append, bench_log
from tests.conftest import PG_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/bench.sqlite3"
    base: str = request.getfixturevalue("postgres_server")
    return base


def bench_schemas() -> set[str]:
    """The schemas bench_append made in this process (named with its id; other tests may
    run benchmarks of their own at the same time)."""
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE %s",
            (f"bench\\_%\\_{os.getpid()}\\_%",),
        ).fetchall()
    return {row[0] for row in rows}


def test_the_workload_is_real_entries_of_the_hunan_pack() -> None:
    work = bench_append.make_workload(40)
    assert len(work.records) == len(work.evaluations) == 40
    evaluated = work.evaluated
    for evaluation in work.evaluations:  # each by an enterprise its record served, once
        assert evaluation.fields["enterprise"] in evaluated[evaluation.record].fields["enterprises"]
    pairs = [(e.record, e.fields["enterprise"]) for e in work.evaluations]
    assert len(set(pairs)) == len(pairs)
    for record in work.records:
        assert record.deadline is not None
        assert record.deadline["working_days"] == 5


def test_bench_append_compares_both_sides_on_real_entries(
    server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = bench_schemas() if server.startswith("postgresql") else set()
    code = bench_append.main(
        ["--db", server, "--entries", "12", "--batch", "5", "--repeat", "1", "--json"]
    )
    assert code == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert set(report["modes"]) == {"single/new", "single/existing", "batch/5"}
    for figures in report["modes"].values():
        assert figures["entries"] == 12
        assert len(figures["ledger_seconds"]) == len(figures["plain_seconds"]) == 1
        assert figures["ledger_entries_per_s"] > 0
        assert figures["plain_entries_per_s"] > 0
    assert report["goal"]["met"] == (report["goal"]["worst_ratio"] <= bench_append.GOAL_RATIO)
    if server.startswith("postgresql"):
        assert bench_schemas() == before, "the run's schemas are dropped"
    else:
        assert [p.name for p in tmp_path.iterdir()] == [], "the run's files are removed"


@pytest.mark.postgres
def test_bench_append_makes_two_schemas_and_drops_them(postgres_server: str) -> None:
    before = bench_schemas()
    target = bench_append.postgres_target(postgres_server)
    try:
        made = bench_schemas() - before
        assert sorted(name.rsplit("_", 1)[1] for name in made) == ["ledger", "plain"]
    finally:
        target.cleanup()
    assert bench_schemas() == before


def test_bench_append_names_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    code = bench_append.main(
        ["--db", "postgresql://postgres@127.0.0.1:1/none", "--entries", "1", "--repeat", "1"]
    )
    assert code == 2
    assert "bench_append: cannot open postgresql://postgres@127.0.0.1:1/none" in (
        capsys.readouterr().err
    )


def test_bench_log_latency_appends_real_service_records(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = bench_log.main(["latency", "--db", server, "--clients", "2", "--seconds", "0.5"])
    assert code == 0
    out = capsys.readouterr().out
    assert " appends from 2 clients in " in out
    assert "append -> covering signed checkpoint: p50 " in out
    assert "goal: every entry covered within 1 s:" in out
