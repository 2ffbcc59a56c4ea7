"""Process compliance (DOMAIN.md §5.2): every hard rule, replayed from the log alone.

Each entry is decided again against the state the entries before it built, under the
policy version in force on its day, exactly as the write path decided it. An entry
that would be refused now is a finding: the write path was bypassed (a forged database,
a race the guards missed) or the rules changed since. The replay needs no database of
its own: the entries are enough.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from ledger.app import event_from_envelope
from ledger.calendar import local_date
from ledger.core.envelope import Envelope, decode_entry, parse_time
from ledger.core.errors import LedgerError
from ledger.core.trust import KEY_EVENT_TYPES, LEDGER_OPENED
from ledger.domain.rules import (
    INDEXES,
    Expectation,
    RuleContext,
    check_shape,
    index_keys,
)
from ledger.events import LedgerAggregate, event_class
from ledger.policy import PolicyPack, load_pack


@dataclass(frozen=True)
class Finding:
    """An entry that breaks a rule, given everything before it."""

    index: int
    stream: str
    type: str
    problem: str

    def __str__(self) -> str:
        return f"log index {self.index}, stream {self.stream!r}, {self.type}: {self.problem}"


@dataclass
class ComplianceReport:
    entries: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings


class RuleReplay:
    """Replays entries in log order and decides each against the rules again."""

    def __init__(self) -> None:
        self.states: dict[str, LedgerAggregate | None] = {}
        #: (index, key) -> streams, as RuleContext.lookup finds them (INDEXES)
        self.index: defaultdict[tuple[str, str], list[str]] = defaultdict(list)
        self.policy_name: str | None = None
        self.root_actor = ""
        self._packs: dict[date, PolicyPack] = {}
        self.findings: list[Finding] = []
        self.entries = 0
        #: What the next domain entry must be, and the index of the entry that said so.
        self.expected: tuple[int, Envelope, Expectation] | None = None

    def _pack(self, day: date) -> PolicyPack:
        if self.policy_name is None:
            raise LedgerError("the log does not begin with LedgerOpened")
        if day not in self._packs:
            self._packs[day] = load_pack(self.policy_name, on=day)
        return self._packs[day]

    def add(self, index: int, raw: bytes) -> Envelope:
        """Decide the entry at ``index`` against what came before; its envelope."""
        self.entries += 1
        env = decode_entry(raw).envelope
        if env.type == LEDGER_OPENED:
            self.policy_name, self.root_actor = str(env.body["policy"]), env.actor
            return env
        if env.type in KEY_EVENT_TYPES:
            return env
        try:
            check_shape(env.stream, event_class(env.type), env.body)
            event = event_from_envelope(env.to_json())
            ctx = RuleContext(
                self._pack(local_date(parse_time(env.time))),
                self.states.get,
                root_actor=self.root_actor,
                find=lambda index, key: list(self.index[index, key]),
            )
        except LedgerError as e:
            self.findings.append(Finding(index, env.stream, env.type, str(e)))
            return env
        if self.expected is not None:
            ctx.expected = self.expected[2]
            self.expected = None
        try:
            ctx.decide(event)
            self.states[env.stream] = ctx.get(env.stream)
            if ctx.expected is not None:
                self.expected = (index, env, ctx.expected)
        except LedgerError as e:
            self.findings.append(Finding(index, env.stream, env.type, str(e)))
            # What happened, happened: later entries are judged against it. An event that
            # cannot even apply to its stream's state stays out of the replayed state.
            with contextlib.suppress(Exception):
                self.states[env.stream] = event.mutate(self.states.get(env.stream))
        for name in INDEXES:
            for key in index_keys(name, env.type, env.body):
                if env.stream not in self.index[name, key]:
                    self.index[name, key].append(env.stream)
        return env

    def finish(self) -> None:
        """The end of the log: an act its last entries left half-written is a finding."""
        if self.expected is None:
            return
        index, env, (_, _, problem, _) = self.expected
        self.expected = None
        self.findings.append(Finding(index, env.stream, env.type, f"{problem}; the log ends"))


def check_compliance(entries: Iterable[bytes]) -> ComplianceReport:
    """Replay ``entries`` (in log order, from index 0) against every hard rule."""
    replay = RuleReplay()
    for index, raw in enumerate(entries):
        replay.add(index, raw)
    replay.finish()
    return ComplianceReport(replay.entries, replay.findings)
