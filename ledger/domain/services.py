"""Service records with their evidence, and evaluations (HN 19(2), 23)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.errors import RuleViolationError
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent

EVIDENCE_TYPES = (
    "通知",
    "合同",
    "二维码签到数据",
    "服务签名表",
    "现场照片",
    "总结或验收报告",
    "审计报告",
    "服务收支凭证",
    "用户评价意见",
)


class ServiceRecord(LedgerAggregate):
    """One service delivered by a provider through a platform, with its evidence."""

    if TYPE_CHECKING:  # state set by events (eventsourcing turns annotations into fields)
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

        def check(self, aggregate: Any) -> None:  # noqa: ARG002 - creates the aggregate
            for item in self.evidence:
                if item.get("type") not in EVIDENCE_TYPES:
                    raise RuleViolationError(
                        0, "HN 23", f"evidence type {item.get('type')!r} is not in the HN 23 list"
                    )

        def apply(self, aggregate: Any) -> None:
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluated_by = set()

    class ServiceEvaluated(LedgerEvent):
        enterprise: str
        score: int
        comment: str

        def check(self, aggregate: Any) -> None:
            if self.enterprise not in aggregate.enterprises:
                raise RuleViolationError(
                    9, "HN 19(2)", f"{self.enterprise} did not receive this service"
                )
            if self.enterprise in aggregate.evaluated_by:
                raise RuleViolationError(
                    9, "HN 19(2)", f"{self.enterprise} has already evaluated this service"
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.evaluated_by.add(self.enterprise)

    @classmethod
    def record(
        cls,
        *,
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
        )

    def evaluate(self, *, actor: str, enterprise: str, score: int, comment: str) -> None:
        self.trigger_event(
            self.ServiceEvaluated, actor=actor, enterprise=enterprise, score=score, comment=comment
        )
