from __future__ import annotations

from ledger.compliance import check_compliance
from tests.domain.world import World


def test_both_worlds_build_and_comply(hunan: World, anhui: World) -> None:
    for world in (hunan, anhui):
        report = check_compliance(world.app.entries())
        assert report.ok, report.findings
        assert report.entries == world.entries
