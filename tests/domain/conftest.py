from __future__ import annotations

import pytest

from ledger.storage import Database
from tests.domain.world import ANHUI, HUNAN, World, open_world


@pytest.fixture
def hunan(db: Database) -> World:
    return open_world(db, HUNAN)


@pytest.fixture
def anhui(db: Database) -> World:
    return open_world(db, ANHUI)
