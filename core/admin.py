from django.conf import settings
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import AuditEvent
from .pii import mask_text

admin.site.site_header = settings.BANK_NAME
admin.site.site_title = settings.BANK_NAME
admin.site.index_title = _("Overdue notices")


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the log is evidence."""

    list_display = (
        "created_at",
        "actor_shown",
        "action",
        "object_repr",
        "from_state",
        "to_state",
        "note_shown",
    )
    list_filter = ("action", "content_type", "created_at")
    search_fields = ("actor_label", "action", "object_repr", "object_id")
    date_hierarchy = "created_at"
    list_select_related = ("content_type",)
    list_per_page = 100
    fields = (
        "created_at",
        "actor_shown",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "from_state",
        "to_state",
        "note_shown",
    )
    readonly_fields = fields

    @admin.display(description=_("actor"), ordering="actor_label")
    def actor_shown(self, obj):
        return obj.actor_label or _("system")

    @admin.display(description=_("note"))
    def note_shown(self, obj):
        return mask_text(obj.note)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
