"""Behaviour shared by many admin pages."""

from __future__ import annotations


class ReadOnlyMixin:
    """Rows the system writes (loans, messages, logs): viewable, never added, changed or
    deleted through the admin — superusers included."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewerMixin:
    """Remembers who opened an object, so its display methods can mask for that user."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._viewer = request.user
        return obj
