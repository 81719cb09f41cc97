"""400, 403, 404 and 500 in the app's layout and the reader's language."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client, RequestFactory, override_settings
from django.urls import include, path

from core import views

pytestmark = pytest.mark.django_db


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [path("boom/", boom), path("", include("config.urls"))]
handler500 = "core.views.server_error"


def test_a_missing_page_is_in_the_admin_layout_and_chinese(staff_client):
    response = staff_client.get("/admin/notices/nothing-here/")
    body = response.content.decode()
    assert response.status_code == 404
    assert 'id="error-page" data-status="404"' in body and "页面不存在" in body
    assert 'id="jazzy-sidebar"' in body and "客户反馈" in body  # the side menu, as on every page
    assert "Not Found" not in body and "Page not found" not in body


def test_a_forbidden_page_says_why_in_english_for_english_readers(staff_client):
    staff_client.cookies["django_language"] = "en"
    response = staff_client.get("/admin/auth/user/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "You may not open this page" in body and "Ask an administrator" in body
    assert "403 Forbidden" not in body


def test_anonymous_readers_get_the_sign_in_layout():
    response = Client().get("/account/nothing/")
    body = response.content.decode()
    assert response.status_code == 404 and "页面不存在" in body
    assert "login-box" in body and 'id="jazzy-sidebar"' not in body


def test_a_bad_request_and_an_expired_form():
    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    assert "无法理解该请求" in views.bad_request(request).content.decode()
    response = views.csrf_failure(request)
    assert response.status_code == 403 and "刷新页面" in response.content.decode()


def test_a_forged_form_is_refused_with_the_apps_page(staff):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    response = client.post("/admin/notices/noticebatch/generate/", {"as_of": "2026-12-01"})
    assert response.status_code == 403 and "表单已过期" in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_a_page_of_ours_not_a_traceback():
    response = Client(raise_request_exception=False).get("/boom/")
    body = response.content.decode()
    assert response.status_code == 500
    assert 'data-status="500"' in body and "出错了" in body and "RuntimeError" not in body
