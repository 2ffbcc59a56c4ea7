"""Domain rule violations: which rule, which article, what was wrong."""

from __future__ import annotations

from ledger.core.errors import EntryRejectedError


class RuleViolationError(EntryRejectedError):
    """A command broke a hard rule of DOMAIN.md §3; nothing was written."""

    def __init__(self, rule: int, article: str, problem: str) -> None:
        self.rule, self.article, self.problem = rule, article, problem
        super().__init__(f"rule {rule} ({article}): {problem}")
