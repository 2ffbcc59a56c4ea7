"""Why a command was refused: which rule, which article, what was wrong."""

from __future__ import annotations

from collections.abc import Sequence

from ledger.core.errors import EntryRejectedError


class RuleViolationError(EntryRejectedError):
    """A command broke a hard rule of DOMAIN.md §3; nothing was written."""

    def __init__(self, rule: int, article: str, problem: str) -> None:
        self.rule, self.article, self.problem = rule, article, problem
        super().__init__(f"rule {rule} ({article}): {problem}")


class LifecycleError(EntryRejectedError):
    """An event that does not follow from its subject's state (e.g. certify before apply)."""

    def __init__(self, subject: str, problem: str) -> None:
        self.subject, self.problem = subject, problem
        super().__init__(f"{subject}: {problem}")


class NotPermittedError(EntryRejectedError):
    """The actor holds none of the roles the policy allows for this event (DOMAIN.md §1)."""

    def __init__(
        self, actor: str, event_type: str, allowed: Sequence[str], policy: str, articles: str
    ) -> None:
        self.actor, self.event_type, self.allowed = actor, event_type, tuple(allowed)
        if allowed:
            problem = f"{event_type} may be written only by {', '.join(allowed)} under {policy}"
        else:
            problem = f"{event_type} is not an event of {policy}"
        where = f" ({articles})" if articles else ""
        super().__init__(f"{actor} is not permitted{where}: {problem}")
