"""What platforms record (DOMAIN.md §2) and the hard rules that guard it (§3).

Importing the package registers every domain event type, so entries of any of them
can be read back into events.
"""

from ledger.domain import (  # noqa: F401 - imported to register the event types
    catalogue,
    complaints,
    registration,
    services,
    supervision,
    trading,
)
