"""Platform nodes, providers and enterprise members (HN 2, 4, 9, 13-16, 18; AH 21-25)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ledger.domain.errors import RuleViolationError
from ledger.events import LedgerAggregate, LedgerCreated, LedgerEvent


class Platform(LedgerAggregate):
    """A window platform (or the hub): applied, recommended by the city, certified."""

    if TYPE_CHECKING:  # state set by events (eventsourcing turns annotations into fields)
        status: str
        level: str

    class PlatformApplied(LedgerCreated):
        name: str
        level: str  # hub | city | county | industry
        parent: str | None
        region: str

        def apply(self, aggregate: Any) -> None:
            aggregate.level, aggregate.parent = self.level, self.parent
            aggregate.status = "applied"

    class PlatformRecommended(LedgerEvent):
        by_authority: str

        def check(self, aggregate: Any) -> None:
            if aggregate.status != "applied":
                raise RuleViolationError(0, "HN 4", f"platform is {aggregate.status}, not applied")

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "recommended"

    class PlatformCertified(LedgerEvent):
        certificate: str

        def check(self, aggregate: Any) -> None:
            ready = "recommended" if aggregate.level != "hub" else "applied"
            if aggregate.status not in (ready, "recommended"):
                raise RuleViolationError(
                    0,
                    "HN 4",
                    f"platform is {aggregate.status}, not {ready}: it cannot be certified",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.status = "certified"

    @classmethod
    def apply_for(
        cls, *, stream: str, actor: str, name: str, level: str, parent: str | None, region: str
    ) -> Platform:
        return cls._create(
            cls.PlatformApplied,
            id=stream,
            actor=actor,
            name=name,
            level=level,
            parent=parent,
            region=region,
        )

    def recommend(self, *, actor: str) -> None:
        self.trigger_event(self.PlatformRecommended, actor=actor, by_authority=actor)

    def certify(self, *, actor: str, certificate: str) -> None:
        self.trigger_event(self.PlatformCertified, actor=actor, certificate=certificate)


class Provider(LedgerAggregate):
    """A service provider: applied, real-name verified, qualification reviewed, admitted."""

    if TYPE_CHECKING:
        verified: bool
        reviewed: bool

    class ProviderApplied(LedgerCreated):
        name: str
        credit_code: str
        categories: list[str]

        def apply(self, aggregate: Any) -> None:
            aggregate.verified = aggregate.reviewed = aggregate.admitted = False
            aggregate.platform = None

    class ProviderRealNameVerified(LedgerEvent):
        method: str

        def apply(self, aggregate: Any) -> None:
            aggregate.verified = True

    class ProviderQualificationReviewed(LedgerEvent):
        documents: list[dict[str, Any]]
        valid_until: str

        def apply(self, aggregate: Any) -> None:
            aggregate.reviewed = True

    class ProviderAdmitted(LedgerEvent):
        platform: str

        def check(self, aggregate: Any) -> None:
            if not (aggregate.verified and aggregate.reviewed):
                raise RuleViolationError(
                    2,
                    "AH 22; HN 8(2)",
                    "a provider is admitted only after real-name verification and "
                    "qualification review",
                )

        def apply(self, aggregate: Any) -> None:
            aggregate.admitted, aggregate.platform = True, self.platform

    @classmethod
    def apply_for(
        cls, *, stream: str, actor: str, name: str, credit_code: str, categories: list[str]
    ) -> Provider:
        return cls._create(
            cls.ProviderApplied,
            id=stream,
            actor=actor,
            name=name,
            credit_code=credit_code,
            categories=categories,
        )

    def verify_real_name(self, *, actor: str, method: str) -> None:
        self.trigger_event(self.ProviderRealNameVerified, actor=actor, method=method)

    def review(self, *, actor: str, documents: list[dict[str, Any]], valid_until: str) -> None:
        self.trigger_event(
            self.ProviderQualificationReviewed,
            actor=actor,
            documents=documents,
            valid_until=valid_until,
        )

    def admit(self, *, actor: str, platform: str) -> None:
        self.trigger_event(self.ProviderAdmitted, actor=actor, platform=platform)


class Enterprise(LedgerAggregate):
    """An enterprise member; its contact person is personal information ($pi only)."""

    class EnterpriseRegistered(LedgerCreated):
        name: str
        credit_code: str
        platform: str
        contact: dict[str, Any]

        def apply(self, aggregate: Any) -> None:
            aggregate.platform = self.platform

    @classmethod
    def register(
        cls,
        *,
        stream: str,
        actor: str,
        name: str,
        credit_code: str,
        platform: str,
        contact: dict[str, Any],
    ) -> Enterprise:
        return cls._create(
            cls.EnterpriseRegistered,
            id=stream,
            actor=actor,
            name=name,
            credit_code=credit_code,
            platform=platform,
            contact=contact,
        )
