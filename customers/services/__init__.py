"""Writes and state changes of customers and loans. Every one records an AuditEvent."""

from .customers import customer_update_contact

__all__ = ["customer_update_contact"]
