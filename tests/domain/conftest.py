from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.events import event_clock
from ledger.storage import Database
from tests.domain.world import ANHUI, HUNAN, WORLD_START, World, open_world


@pytest.fixture
def hunan(db: Database) -> World:
    return open_world(db, HUNAN)


@pytest.fixture
def anhui(db: Database) -> World:
    return open_world(db, ANHUI)


@pytest.fixture
def events_on_world_time() -> Iterator[None]:
    """New events take the worlds' start time, not the wall clock: the dates in a test hold."""
    with event_clock(lambda: WORLD_START):
        yield
