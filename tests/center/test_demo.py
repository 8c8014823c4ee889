"""The DEBUG-only client-IP override used by the demo: never active in production or remotely."""

from __future__ import annotations

from django.test import override_settings

from authsite.core.clientip import DEMO_COOKIE, client_ip
from tests.base import BrowserRequestFactory as RequestFactory
from tests.base import SimpleTestCase


class DemoClientIpTests(SimpleTestCase):
    def request(self, remote: str, cookie: str = "203.0.113.5"):
        request = RequestFactory().get("/", REMOTE_ADDR=remote)
        request.COOKIES[DEMO_COOKIE] = cookie
        return request

    @override_settings(DEBUG=True)
    def test_debug_and_loopback_use_the_chosen_address(self):
        self.assertEqual(client_ip(self.request("127.0.0.1")), "203.0.113.5")
        self.assertEqual(client_ip(self.request("::1")), "203.0.113.5")

    @override_settings(DEBUG=True)
    def test_not_from_a_remote_peer(self):
        self.assertEqual(client_ip(self.request("198.51.100.9")), "198.51.100.9")

    @override_settings(DEBUG=True)
    def test_garbage_cookie_is_ignored(self):
        self.assertEqual(client_ip(self.request("127.0.0.1", "not an ip")), "127.0.0.1")

    @override_settings(DEBUG=False)
    def test_never_outside_debug(self):
        self.assertEqual(client_ip(self.request("127.0.0.1")), "127.0.0.1")
        self.assertEqual(self.client.get("/demo/").status_code, 404)

    @override_settings(DEBUG=True, TRUSTED_PROXY_COUNT=1)
    def test_not_behind_a_proxy(self):
        self.assertEqual(client_ip(self.request("127.0.0.1")), "127.0.0.1")
