"""Tamper-evident, event-sourced audit ledger (format v1, see FORMAT.md)."""
