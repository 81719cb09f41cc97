"""Writes and state changes of notices. Each one records an AuditEvent in its transaction."""

from .batches import batch_approve, batch_cancel, batch_generate, batch_reject, batch_submit
from .templates import template_save

__all__ = ["batch_approve", "batch_cancel", "batch_generate", "batch_reject", "batch_submit", "template_save"]
