from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from notices.views import (
    inbound_webhook,
    jasmin_inbound_webhook,
    jasmin_receipt_webhook,
    kannel_inbound_webhook,
    kannel_receipt_webhook,
    receipt_webhook,
)

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("i18n/", include("django.conf.urls.i18n")),
    path("account/", include("core.urls")),
    path("admin/reports/", include("notices.reports")),
    path("admin/", admin.site.urls),
    path("webhooks/sms/receipt/", receipt_webhook, name="sms_receipt_webhook"),
    path("webhooks/sms/inbound/", inbound_webhook, name="sms_inbound_webhook"),
    path("webhooks/sms/kannel/receipt/", kannel_receipt_webhook, name="sms_kannel_receipt_webhook"),
    path("webhooks/sms/kannel/inbound/", kannel_inbound_webhook, name="sms_kannel_inbound_webhook"),
    path("webhooks/sms/jasmin/receipt/", jasmin_receipt_webhook, name="sms_jasmin_receipt_webhook"),
    path("webhooks/sms/jasmin/inbound/", jasmin_inbound_webhook, name="sms_jasmin_inbound_webhook"),
]

# Error pages in the app's layout and the reader's language (core/views.py).
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
