import pytest

from core.audit import audit_record
from core.models import AuditEvent
from tests.factories import CustomerFactory


@pytest.mark.django_db
def test_audit_record_keeps_actor_object_and_transition(staff):
    customer = CustomerFactory()
    event = audit_record(
        actor=staff, action="customer.contact_update", obj=customer, from_state="a", to_state="b", note="why"
    )
    event.refresh_from_db()
    assert (event.actor, event.actor_label, event.object_id) == (staff, "staff1", str(customer.pk))
    assert (event.from_state, event.to_state, event.note) == ("a", "b", "why")
    assert event.content_type.model == "customer"


@pytest.mark.django_db
def test_system_actions_have_no_actor():
    event = audit_record(actor=None, action="batch.generate")
    assert event.actor is None and event.actor_label == ""


@pytest.mark.django_db
def test_audit_rows_cannot_be_changed_or_deleted(staff):
    event = audit_record(actor=staff, action="x")
    event.note = "rewritten"
    with pytest.raises(TypeError):
        event.save()
    with pytest.raises(TypeError):
        event.delete()
    with pytest.raises(TypeError):
        AuditEvent.objects.filter(pk=event.pk).update(note="rewritten")
    with pytest.raises(TypeError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).note == ""


@pytest.mark.django_db
def test_audit_admin_is_read_only_even_for_superusers(admin_client, staff):
    event = audit_record(actor=staff, action="customer.contact_update", note="客户 13812345678 来电")
    page = admin_client.get(f"/admin/core/auditevent/{event.pk}/change/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "138****5678" in body and "13812345678" not in body
    assert 'name="_save"' not in body
    assert admin_client.get("/admin/core/auditevent/add/").status_code == 403
    assert admin_client.post(f"/admin/core/auditevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgresql_refuses_update_and_delete_of_audit_rows_whatever_the_code(staff):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only")
    event = audit_record(actor=staff, action="x", note="original")
    for sql in (
        "UPDATE core_auditevent SET note = 'rewritten' WHERE id = %s",
        "DELETE FROM core_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cur,
        ):
            cur.execute(sql, [event.pk])
    # Rows can still be added.
    audit_record(actor=staff, action="y")
    assert AuditEvent.objects.get(pk=event.pk).note == "original"
    assert AuditEvent.objects.filter(action__in=["x", "y"]).count() == 2


@pytest.mark.django_db
def test_sign_in_sign_out_and_failures_are_audited(client, staff):
    client.post("/admin/login/", {"username": "staff1", "password": "wrong-password"}, REMOTE_ADDR="10.1.2.3")
    client.post("/admin/login/", {"username": "staff1", "password": "pw-for-tests-1"}, REMOTE_ADDR="10.1.2.3")
    client.post("/admin/logout/", REMOTE_ADDR="10.1.2.3")
    rows = list(AuditEvent.objects.order_by("pk").values_list("action", "actor_label", "to_state", "note"))
    assert rows == [
        ("auth.login_failed", "", "staff1", "ip 10.1.2.3"),
        ("auth.login", "staff1", "", "ip 10.1.2.3"),
        ("auth.logout", "staff1", "", "ip 10.1.2.3"),
    ]
