"""What platforms record: registrations and services (DOMAIN.md §2)."""
