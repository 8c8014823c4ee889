"""A database outage answers 503 with Retry-After; other errors 500; never a traceback."""

from __future__ import annotations

from django.db import OperationalError
from django.http import HttpResponse
from django.test import override_settings
from django.urls import include, path

from tests.base import BrowserClient as Client
from tests.base import TestCase


def broken_database(request):
    raise OperationalError("connection to server at 127.0.0.1 failed: Connection refused")


def broken_code(request):
    raise ZeroDivisionError("bug")


def fine(request):
    return HttpResponse("ok")


urlpatterns = [
    path("db-down/", broken_database),
    path("bug/", broken_code),
    path("fine/", fine),
    path("", include("authsite.urls")),
]
handler500 = "authsite.accounts.views.server_error"


@override_settings(ROOT_URLCONF="tests.accounts.test_outage", DEBUG=False)
class OutageTests(TestCase):
    def setUp(self) -> None:
        self.client = Client(raise_request_exception=False)

    def test_database_outage_is_a_503_with_retry_after(self):
        response = self.client.get("/db-down/")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "5")
        self.assertContains(response, "Back in a moment", status_code=503)
        self.assertNotContains(response, "Connection refused", status_code=503)

    def test_other_errors_are_a_plain_500(self):
        response = self.client.get("/bug/")
        self.assertEqual(response.status_code, 500)
        self.assertNotContains(response, "ZeroDivisionError", status_code=500)
        self.assertNotContains(response, "Traceback", status_code=500)

    def test_recovers_on_the_next_request(self):
        self.client.get("/db-down/")
        self.assertEqual(self.client.get("/fine/").status_code, 200)
