"""The permission matrix: every URL of the app × every role × GET and POST → the status
the role must get; and, on every answer, no whole mobile or ID number where none may be.

Roles: anonymous, staff (催收专员), supervisor (主管), administrator (系统管理员).
Each entry reads "GET: anonymous staff supervisor administrator | POST: the same four".
302 for anonymous is the redirect to the sign-in page; 302 for a signed-in user is the
redirect a form or action answers with (every request is rolled back, so each one sees
the same world); 403 is refused, 404 not there for that role, 405 wrong method. A new
URL fails the test until its row is written here, so nothing is added unreviewed.
"""

import pytest

from core.pii import can_see_full_pii
from tests.security.world import (
    ID_MASKED,
    MOBILE_MASKED,
    ROLES,
    build_world,
    client_for,
    readable,
    request,
    resolve_all,
    unmasked,
)

pytestmark = pytest.mark.django_db

EXPECTED = {
    "admin:app_list[auth]": "302 404 404 200 | 302 404 404 200",
    "admin:app_list[axes]": "302 404 404 200 | 302 404 404 200",
    "admin:app_list[core]": "302 404 200 200 | 302 404 200 200",
    "admin:app_list[customers]": "302 200 200 200 | 302 200 200 200",
    "admin:app_list[django_q]": "302 404 404 200 | 302 404 404 200",
    "admin:app_list[notices]": "302 200 200 200 | 302 200 200 200",
    "admin:app_list[otp_totp]": "302 404 404 200 | 302 404 404 200",
    "admin:auth_group_add": "302 403 403 403 | 302 403 403 403",
    "admin:auth_group_change": "302 403 403 200 | 302 403 403 200",
    "admin:auth_group_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:auth_group_delete": "302 403 403 403 | 302 403 403 403",
    "admin:auth_group_history": "302 403 403 200 | 302 403 403 200",
    "admin:auth_user_add": "302 403 403 200 | 302 403 403 200",
    "admin:auth_user_change": "302 403 403 200 | 302 403 403 200",
    "admin:auth_user_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:auth_user_delete": "302 403 403 403 | 302 403 403 403",
    "admin:auth_user_history": "302 403 403 200 | 302 403 403 200",
    "admin:auth_user_password_change": "302 403 403 200 | 302 403 403 200",
    "admin:autocomplete": "302 403 403 403 | 302 405 405 405",
    "admin:axes_accessattempt_add": "302 403 403 403 | 302 403 403 403",
    "admin:axes_accessattempt_change": "302 403 403 200 | 302 403 403 403",
    "admin:axes_accessattempt_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accessattempt_delete": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accessattempt_history": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accessfailurelog_add": "302 403 403 403 | 302 403 403 403",
    "admin:axes_accessfailurelog_change": "302 403 403 200 | 302 403 403 403",
    "admin:axes_accessfailurelog_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accessfailurelog_delete": "302 403 403 403 | 302 403 403 403",
    "admin:axes_accessfailurelog_history": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accesslog_add": "302 403 403 403 | 302 403 403 403",
    "admin:axes_accesslog_change": "302 403 403 200 | 302 403 403 403",
    "admin:axes_accesslog_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:axes_accesslog_delete": "302 403 403 403 | 302 403 403 403",
    "admin:axes_accesslog_history": "302 403 403 200 | 302 403 403 200",
    "admin:core_auditevent_add": "302 403 403 403 | 302 403 403 403",
    "admin:core_auditevent_change": "302 403 200 200 | 302 403 403 403",
    "admin:core_auditevent_changelist": "302 403 200 200 | 302 403 200 200",
    "admin:core_auditevent_delete": "302 403 403 403 | 302 403 403 403",
    "admin:core_auditevent_history": "302 403 200 200 | 302 403 200 200",
    "admin:customers_customer_add": "302 403 403 403 | 302 403 403 403",
    "admin:customers_customer_change": "302 200 200 200 | 302 200 200 403",
    "admin:customers_customer_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:customers_customer_delete": "302 403 403 403 | 302 403 403 403",
    "admin:customers_customer_history": "302 200 200 200 | 302 200 200 200",
    "admin:customers_customer_reveal": "302 405 405 405 | 302 403 200 403",
    "admin:customers_loan_add": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loan_change": "302 200 200 200 | 302 403 403 403",
    "admin:customers_loan_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loan_delete": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loan_history": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_add": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loanbookimport_change": "302 302 302 302 | 302 302 302 302",
    "admin:customers_loanbookimport_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_delete": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loanbookimport_errors": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_history": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_preview": "302 302 302 302 | 302 302 302 403",
    "admin:customers_loanbookimport_progress": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_result": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_status": "302 200 200 200 | 302 200 200 200",
    "admin:customers_loanbookimport_upload": "302 200 200 403 | 302 200 200 403",
    "admin:customers_loanevent_add": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loanevent_change": "302 200 200 403 | 302 403 403 403",
    "admin:customers_loanevent_changelist": "302 200 200 403 | 302 200 200 403",
    "admin:customers_loanevent_delete": "302 403 403 403 | 302 403 403 403",
    "admin:customers_loanevent_history": "302 200 200 403 | 302 200 200 403",
    "admin:django_q_failure_add": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_failure_change": "302 403 403 200 | 302 403 403 403",
    "admin:django_q_failure_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_failure_delete": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_failure_history": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_ormq_add": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_ormq_change": "302 403 403 200 | 302 403 403 403",
    "admin:django_q_ormq_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_ormq_delete": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_ormq_history": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_schedule_add": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_schedule_change": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_schedule_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_schedule_delete": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_schedule_history": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_success_add": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_success_change": "302 403 403 200 | 302 403 403 403",
    "admin:django_q_success_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:django_q_success_delete": "302 403 403 403 | 302 403 403 403",
    "admin:django_q_success_history": "302 403 403 200 | 302 403 403 200",
    "admin:index": "302 200 200 200 | 302 200 200 200",
    "admin:jsi18n": "302 200 200 200 | 302 405 405 405",
    "admin:login": "200 302 302 302 | 200 200 200 200",
    "admin:logout": "302 405 405 405 | 302 200 200 200",
    "admin:notices_collectionstage_add": "302 403 403 200 | 302 403 403 200",
    "admin:notices_collectionstage_change": "302 200 200 200 | 302 403 200 200",
    "admin:notices_collectionstage_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_collectionstage_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_collectionstage_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_contactpolicy_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_contactpolicy_change": "302 403 403 200 | 302 403 403 200",
    "admin:notices_contactpolicy_changelist": "302 302 302 302 | 302 302 302 302",
    "admin:notices_contactpolicy_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_contactpolicy_history": "302 403 403 200 | 302 403 403 200",
    "admin:notices_deliveryreceipt_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_deliveryreceipt_change": "302 200 200 200 | 302 403 403 403",
    "admin:notices_deliveryreceipt_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_deliveryreceipt_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_deliveryreceipt_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_feedback_add": "302 200 200 403 | 302 200 200 403",
    "admin:notices_feedback_assign": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_change": "302 200 200 403 | 302 200 200 403",
    "admin:notices_feedback_changelist": "302 200 200 403 | 302 200 200 403",
    "admin:notices_feedback_classify": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_feedback_history": "302 200 200 403 | 302 200 200 403",
    "admin:notices_feedback_link": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_reply": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_reply_preview": "302 405 405 405 | 302 200 200 403",
    "admin:notices_feedback_resume_sms": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_status": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedback_verify_phone": "302 405 405 405 | 302 302 302 403",
    "admin:notices_feedbacksla_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_feedbacksla_change": "302 200 200 200 | 302 403 403 200",
    "admin:notices_feedbacksla_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_feedbacksla_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_feedbacksla_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_forbiddenexpression_add": "302 403 403 200 | 302 403 403 200",
    "admin:notices_forbiddenexpression_change": "302 200 200 200 | 302 403 403 200",
    "admin:notices_forbiddenexpression_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_forbiddenexpression_delete": "302 403 403 200 | 302 403 403 200",
    "admin:notices_forbiddenexpression_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_inboundmessage_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_inboundmessage_change": "302 200 200 200 | 302 403 403 403",
    "admin:notices_inboundmessage_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_inboundmessage_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_inboundmessage_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_keywordrule_add": "302 403 403 200 | 302 403 403 200",
    "admin:notices_keywordrule_change": "302 200 200 200 | 302 403 403 200",
    "admin:notices_keywordrule_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_keywordrule_delete": "302 403 403 200 | 302 403 403 200",
    "admin:notices_keywordrule_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_noticebatch_approve": "302 405 405 405 | 302 403 302 403",
    "admin:notices_noticebatch_cancel": "302 200 200 403 | 302 200 200 403",
    "admin:notices_noticebatch_change": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_noticebatch_export": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_generate": "302 200 200 403 | 302 200 200 403",
    "admin:notices_noticebatch_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_progress": "302 200 200 200 | 302 200 200 200",
    "admin:notices_noticebatch_reject": "302 405 405 405 | 302 403 302 403",
    "admin:notices_repaymentplan_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_repaymentplan_approve": "302 405 405 405 | 302 403 302 403",
    "admin:notices_repaymentplan_cancel": "302 200 200 403 | 302 200 200 403",
    "admin:notices_repaymentplan_change": "302 200 200 403 | 302 200 200 403",
    "admin:notices_repaymentplan_changelist": "302 200 200 403 | 302 200 200 403",
    "admin:notices_repaymentplan_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_repaymentplan_draft": "302 200 200 403 | 302 200 200 403",
    "admin:notices_repaymentplan_history": "302 200 200 403 | 302 200 200 403",
    "admin:notices_repaymentplan_reject": "302 405 405 405 | 302 403 302 403",
    "admin:notices_smsmessage_add": "302 403 403 403 | 302 403 403 403",
    "admin:notices_smsmessage_change": "302 200 200 200 | 302 403 403 403",
    "admin:notices_smsmessage_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_smsmessage_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_smsmessage_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_smstemplate_add": "302 200 200 403 | 302 200 200 403",
    "admin:notices_smstemplate_change": "302 200 200 200 | 302 200 200 403",
    "admin:notices_smstemplate_changelist": "302 200 200 200 | 302 200 200 200",
    "admin:notices_smstemplate_delete": "302 403 403 403 | 302 403 403 403",
    "admin:notices_smstemplate_history": "302 200 200 200 | 302 200 200 200",
    "admin:notices_smstemplate_preview": "302 405 405 405 | 302 200 200 200",
    "admin:otp_totp_totpdevice_add": "302 403 403 403 | 302 403 403 403",
    "admin:otp_totp_totpdevice_change": "302 403 403 200 | 302 403 403 403",
    "admin:otp_totp_totpdevice_changelist": "302 403 403 200 | 302 403 403 200",
    "admin:otp_totp_totpdevice_delete": "302 403 403 200 | 302 403 403 200",
    "admin:otp_totp_totpdevice_history": "302 403 403 200 | 302 403 403 200",
    "admin:password_change": "302 200 200 200 | 302 200 200 200",
    "admin:password_change_done": "302 200 200 200 | 302 405 405 405",
    "admin:view_on_site": "302 404 404 404 | 302 404 404 404",
    "notices_effectiveness": "302 200 200 200 | 302 200 200 200",
    "notices_reports": "302 403 200 403 | 302 403 200 403",
    "set_language": "302 302 302 302 | 302 302 302 302",
    "sms_inbound_webhook": "405 405 405 405 | 403 403 403 403",
    "sms_jasmin_inbound_webhook": "403 403 403 403 | 403 403 403 403",
    "sms_jasmin_receipt_webhook": "403 403 403 403 | 403 403 403 403",
    "sms_kannel_inbound_webhook": "403 403 403 403 | 403 403 403 403",
    "sms_kannel_receipt_webhook": "403 403 403 403 | 403 403 403 403",
    "sms_receipt_webhook": "405 405 405 405 | 403 403 403 403",
    "two_factor_setup": "302 200 200 200 | 302 200 200 200",
}

# Where a user with the full-data permission (supervisors) may get whole numbers: the
# audited reveal and the audited exports. Pages never show them, to anyone.
WHOLE_ALLOWED = {
    "admin:customers_customer_reveal",
    "admin:notices_noticebatch_export",
    "admin:customers_loanbookimport_errors",
}


@pytest.mark.parametrize("role", ROLES)
def test_every_url_answers_each_role_as_the_matrix_says_and_never_leaks_numbers(role):
    world = build_world()
    paths = resolve_all(world)
    missing = sorted(set(paths) - set(EXPECTED))
    assert missing == [], f"add these URLs to the permission matrix: {missing}"
    index = ROLES.index(role)
    client = client_for(world, role)
    user = world.users.get(role)
    wrong, leaks, seen = [], [], {}
    for name, path in sorted(paths.items()):
        expected = [int(half.split()[index]) for half in EXPECTED[name].split("|")]
        for method, status in zip(("GET", "POST"), expected, strict=True):
            response, body = request(client, method, path)
            if response.status_code != status:
                wrong.append(f"{method} {name} ({path}): {response.status_code}, expected {status}")
            text = readable(response, body)
            seen[(method, name)] = text
            if not (name in WHOLE_ALLOWED and can_see_full_pii(user)) and unmasked(text):
                leaks.append(f"{method} {name}: {unmasked(text)[:3]}")
            if name == "admin:logout":  # signed out by it: sign in again for the rest
                client = client_for(world, role)
    assert wrong == [], "\n".join(wrong)
    assert leaks == [], "\n".join(leaks)
    if role in ("staff", "supervisor"):  # the scan saw the data, masked
        customer_page = seen[("GET", "admin:customers_customer_change")]
        assert MOBILE_MASKED in customer_page and ID_MASKED in customer_page
        assert "139****4321" in seen[("GET", "admin:notices_feedback_change")]
