"""The notices admin, one module per area; importing them registers the model admins."""

from . import batches, feedback, plans, policy, sms, templates  # noqa: F401
