from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from .admin_mixins import ReadOnlyMixin
from .audit import audit_record
from .forms import AdminLoginForm
from .models import AuditEvent
from .pii import mask_text

admin.site.site_header = settings.BANK_NAME
admin.site.site_title = settings.BANK_NAME
admin.site.index_title = _("Overdue notices")
# Password, then the one-time code for users who set up two-step sign-in.
admin.site.login_form = AdminLoginForm
admin.site.login_template = "core/login.html"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
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


# --- Sign-in security ------------------------------------------------------------------
# django-otp's own device admin shows each device's secret key and QR code to anyone who
# may view devices: an administrator could then sign in as a supervisor. Here they may
# only see who has a device and remove a lost one (the user then sets up a new one).
admin.site.unregister(TOTPDevice)


@admin.register(TOTPDevice)
class AuthenticatorDeviceAdmin(admin.ModelAdmin):
    list_display = ("user", "name", "confirmed", "created_at", "last_used_at")
    list_filter = ("confirmed",)
    list_select_related = ("user",)
    search_fields = ("user__username",)
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        audit_record(actor=request.user, action="auth.otp_removed", obj=obj.user, note=obj.name)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for device in queryset.select_related("user"):
            self.delete_model(request, device)


# Administrators manage users and roles, but never make anyone (themselves included) a
# superuser nor touch a superuser's account: that would bypass every role.
admin.site.unregister(User)


@admin.register(User)
class RoleUserAdmin(UserAdmin):
    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        return queryset if request.user.is_superuser else queryset.filter(is_superuser=False)

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if request.user.is_superuser:
            return fieldsets
        hidden = {"is_superuser", "user_permissions"}
        return [
            (name, {**options, "fields": tuple(f for f in options["fields"] if f not in hidden)})
            for name, options in fieldsets
        ]
