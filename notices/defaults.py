"""Data the migrations create (roles, stages, templates, forbidden expressions).

A flush (as transactional tests do between tests) removes it; `defaults_ensure` puts it
back exactly as the migrations would, and does nothing when it is there.
"""

from __future__ import annotations

import importlib


def defaults_ensure() -> None:
    """Recreate the migration-seeded data if it is missing."""
    from django.apps import apps

    from core.roles import roles_sync
    from notices.models import CollectionStage, KeywordRule

    roles_sync(apps)
    if not CollectionStage.objects.exists():
        importlib.import_module("notices.migrations.0002_defaults").create_defaults(apps, None)
        importlib.import_module("notices.migrations.0013_default_templates_v2").update_defaults(apps, None)
    if not KeywordRule.objects.exists():
        importlib.import_module("notices.migrations.0005_feedback_defaults").create(apps, None)
