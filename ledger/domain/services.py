"""Service records with their evidence, corrections and evaluations (HN 19(2), 23)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from ledger.calendar import CALENDAR_VERSION, DEFAULT_CALENDAR
from ledger.domain.catalogue import ServiceItem, check_charge
from ledger.domain.errors import LifecycleError
from ledger.domain.registration import (
    Member,
    Platform,
    Provider,
    check_in_line,
    corrected_version,
    parse_day,
)
from ledger.domain.rules import RuleContext
from ledger.domain.trading import CHANNELS, _score
from ledger.events import SHA256_HEX, LedgerAggregate, LedgerCreated, LedgerEvent
from ledger.policy import PolicyPack

EVIDENCE_MEMBERS = frozenset({"type", "sha256", "basis_date", "media_type", "size"})


def basis_day(policy: PolicyPack, evidence: list[dict[str, Any]]) -> date | None:
    """The day the service's basis arose: the earliest basis document, else any evidence."""
    types = policy.parameters.evidence_types
    basis = [e for e in evidence if types is None or e.get("type") in types.basis] or evidence
    try:
        days = [date.fromisoformat(e["basis_date"]) for e in basis]
    except (KeyError, TypeError, ValueError):
        return None  # check_evidence names the bad item
    return min(days) if days else None


def record_deadline(policy: PolicyPack, evidence: list[dict[str, Any]]) -> dict[str, Any] | None:
    """HN 23's deadline for a record with ``evidence``: due date and the calendar used."""
    parameter = policy.parameters.service_record_deadline
    basis = basis_day(policy, evidence)
    if parameter is None or basis is None:
        return None
    deadline = DEFAULT_CALENDAR.deadline(basis, parameter.working_days)
    return {
        "basis_date": basis.isoformat(),
        "working_days": parameter.working_days,
        "due": deadline.due.isoformat() if deadline.due is not None else None,
        "status": deadline.status,
        "calendar": CALENDAR_VERSION,
    }


def check_evidence(ctx: RuleContext, subject: str, evidence: Any) -> None:
    """Each item: a listed type, a SHA-256 digest, a basis date not after today, a file."""
    if not isinstance(evidence, list) or not evidence:
        raise LifecycleError(subject, "a service record carries at least one evidence item")
    types = ctx.policy.parameters.evidence_types
    for n, item in enumerate(evidence):
        where = f"evidence[{n}]"
        if not isinstance(item, dict) or set(item) != EVIDENCE_MEMBERS:
            raise LifecycleError(subject, f"{where} has exactly {sorted(EVIDENCE_MEMBERS)}")
        if types is not None and item["type"] not in types.all_types:
            raise LifecycleError(
                subject,
                f"{where}: type {item['type']!r} is not in the list of "
                f"{'; '.join(types.articles)} ({', '.join(types.all_types)})",
            )
        if not isinstance(item["sha256"], str) or not SHA256_HEX.fullmatch(item["sha256"]):
            raise LifecycleError(subject, f"{where}: sha256 must be 64 lowercase hex digits")
        basis = parse_day(item["basis_date"], subject, f"{where}.basis_date")
        if basis > ctx.day:
            raise LifecycleError(
                subject, f"{where}: basis_date {basis} is after the day it is recorded ({ctx.day})"
            )
        size = item["size"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 1:
            raise LifecycleError(subject, f"{where}: size must be a positive number of bytes")
        if not isinstance(item["media_type"], str) or "/" not in item["media_type"]:
            raise LifecycleError(subject, f"{where}: media_type must be a MIME type")


class ServiceRecord(LedgerAggregate):
    """Stream ``service/<id>``: one service delivered by a provider through a platform."""

    if TYPE_CHECKING:
        provider: str
        platform: str
        enterprises: list[str]
        evaluated_by: set[str]

    class ServiceRecorded(LedgerCreated):
        provider: str
        platform: str
        item: str
        enterprises: list[str]
        channel: str
        charge: str
        fee_fen: int
        evidence: list[dict[str, Any]]
        deadline: dict[str, Any] | None

        def check(self, state: Any, ctx: RuleContext) -> None:  # noqa: ARG002
            stream = self.originator_id
            if self.actor not in (self.platform, self.provider):
                raise LifecycleError(
                    stream,
                    f"{self.actor} records services of neither {self.platform} nor {self.provider}",
                )
            platform = ctx.subject(self.platform, Platform, "platform")
            platform.standing(ctx)
            provider = ctx.subject(self.provider, (Provider, Platform), "provider")
            provider.standing(ctx)
            home = provider if isinstance(provider, Platform) else ctx.get(provider.platform)
            check_in_line(ctx, stream, platform, home)
            item = ctx.subject(self.item, ServiceItem, "service item")
            if item.provider != self.provider or item.withdrawn:
                raise LifecycleError(stream, f"{self.item} is not an open item of {self.provider}")
            if self.channel not in CHANNELS:
                raise LifecycleError(stream, f"channel {self.channel!r} is not one of {CHANNELS}")
            fields = {**item.fields, "charge": self.charge, "fee_fen": self.fee_fen}
            check_charge(ctx, stream, fields)
            ctx.require(
                7,
                not item.free or self.fee_fen == 0,
                f"{self.item} is free; the record cannot charge {self.fee_fen} fen",
            )
            if not self.enterprises or len(set(self.enterprises)) != len(self.enterprises):
                raise LifecycleError(stream, "a record names the distinct enterprises it served")
            for enterprise in self.enterprises:
                served = ctx.subject(enterprise, Member, "member")
                served.check_not_barred(ctx, "member")
                ctx.require(
                    1,
                    served.verified,
                    f"{enterprise} has not been real-name verified; no service is recorded for it",
                )
            check_evidence(ctx, stream, self.evidence)
            expected = record_deadline(ctx.policy, self.evidence)
            if self.deadline != expected:
                raise LifecycleError(
                    stream, f"deadline {self.deadline} is not the calendar's {expected} (HN 23)"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.provider, aggregate.platform = self.provider, self.platform
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluated_by = set()

    class EvidenceAttached(LedgerEvent):
        """A correction: evidence that arrived later, naming the record event it completes."""

        corrects: int
        evidence: list[dict[str, Any]]
        reason: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            corrected_version(ctx, state, self.corrects)
            if self.actor not in (state.platform, state.provider):
                raise LifecycleError(state.id, f"{self.actor} did not record this service")
            check_evidence(ctx, state.id, self.evidence)

        def apply(self, aggregate: Any) -> None:
            pass

    class ServiceEvaluated(LedgerEvent):
        enterprise: str
        score: int
        comment: str

        def check(self, state: Any, ctx: RuleContext) -> None:
            ctx.require(
                9,
                self.actor == self.enterprise,
                f"{self.actor} cannot evaluate on behalf of {self.enterprise}",
            )
            ctx.require(
                9,
                self.enterprise in state.enterprises,
                f"{self.enterprise} did not receive this service",
            )
            ctx.require(
                9,
                self.enterprise not in state.evaluated_by,
                f"{self.enterprise} has already evaluated this service",
            )
            _score(ctx, state.id, self.score)

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluated_by.add(self.enterprise)

    @classmethod
    def record(
        cls,
        *,
        policy: PolicyPack,
        stream: str,
        actor: str,
        provider: str,
        platform: str,
        item: str,
        enterprises: list[str],
        channel: str,
        charge: str,
        fee_fen: int,
        evidence: list[dict[str, Any]],
    ) -> ServiceRecord:
        return cls._create(
            cls.ServiceRecorded,
            id=stream,
            actor=actor,
            provider=provider,
            platform=platform,
            item=item,
            enterprises=enterprises,
            channel=channel,
            charge=charge,
            fee_fen=fee_fen,
            evidence=evidence,
            deadline=record_deadline(policy, evidence),
        )

    def attach_evidence(self, *, actor: str, evidence: list[dict[str, Any]], reason: str) -> None:
        self.trigger_event(
            self.EvidenceAttached, actor=actor, corrects=1, evidence=evidence, reason=reason
        )

    def evaluate(self, *, enterprise: str, score: int, comment: str) -> None:
        self.trigger_event(
            self.ServiceEvaluated,
            actor=enterprise,
            enterprise=enterprise,
            score=score,
            comment=comment,
        )
