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

        def apply(self, aggregate: Any) -> None:
            aggregate.enterprises = list(self.enterprises)
            aggregate.evaluated_by = set()

    class ServiceEvaluated(LedgerEvent):
        enterprise: str
        score: int
        comment: str

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
        for item_evidence in evidence:
            if item_evidence.get("type") not in EVIDENCE_TYPES:
                raise RuleViolationError(
                    0,
                    "HN 23",
                    f"evidence type {item_evidence.get('type')!r} is not in the HN 23 list",
                )
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
        if enterprise not in self.enterprises:
            raise RuleViolationError(9, "HN 19(2)", f"{enterprise} did not receive this service")
        if enterprise in self.evaluated_by:
            raise RuleViolationError(9, "HN 19(2)", f"{enterprise} has already evaluated it")
        self.trigger_event(
            self.ServiceEvaluated, actor=actor, enterprise=enterprise, score=score, comment=comment
        )
