"""The client IP: REMOTE_ADDR unless trusted proxies are configured; spoofing ignored."""

from __future__ import annotations

from django.test import override_settings

from authsite.core.clientip import canonical_ip_or_none, client_ip
from tests.base import BrowserRequestFactory as RequestFactory
from tests.base import SimpleTestCase


class ClientIpTests(SimpleTestCase):
    def request(self, remote="198.51.100.7", forwarded=None):
        extra = {"REMOTE_ADDR": remote}
        if forwarded is not None:
            extra["HTTP_X_FORWARDED_FOR"] = forwarded
        return RequestFactory().get("/", **extra)

    def test_remote_addr_by_default_and_forwarded_header_ignored(self):
        self.assertEqual(client_ip(self.request(forwarded="1.2.3.4")), "198.51.100.7")

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_one_trusted_proxy_takes_the_rightmost_entry_not_the_leftmost(self):
        request = self.request(remote="10.0.0.2", forwarded="6.6.6.6, 203.0.113.9")
        self.assertEqual(client_ip(request), "203.0.113.9")

    @override_settings(TRUSTED_PROXY_COUNT=2)
    def test_two_trusted_proxies(self):
        request = self.request(remote="10.0.0.2", forwarded="6.6.6.6, 203.0.113.9, 10.0.0.1")
        self.assertEqual(client_ip(request), "203.0.113.9")

    @override_settings(TRUSTED_PROXY_COUNT=2)
    def test_too_few_hops_falls_back_to_remote_addr(self):
        self.assertEqual(client_ip(self.request(remote="10.0.0.2", forwarded="203.0.113.9")), "10.0.0.2")

    @override_settings(TRUSTED_PROXY_COUNT=1)
    def test_garbage_in_forwarded_header(self):
        self.assertEqual(client_ip(self.request(remote="10.0.0.2", forwarded="not-an-ip")), "10.0.0.2")

    def test_ipv4_mapped_ipv6_is_normalised(self):
        self.assertEqual(client_ip(self.request(remote="::ffff:192.0.2.55")), "192.0.2.55")
        self.assertEqual(canonical_ip_or_none(" 2001:DB8::1 "), "2001:db8::1")
        self.assertIsNone(canonical_ip_or_none("999.1.1.1"))


class SpoofedForwardedForTests(SimpleTestCase):
    databases = {"default"}

    def test_spoofed_header_does_not_change_the_rate_limit_key(self):
        from django.core.cache import cache

        from authsite.accounts.throttle import _ip_key
        from tests.base import BrowserClient as Client

        cache.clear()
        with override_settings(
            LOGIN_THROTTLE={"ACCOUNT_MAX_FAILURES": 100, "IP_MAX_FAILURES": 3, "WINDOW_SECONDS": 900}
        ):
            for i in range(3):
                Client(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}").post(
                    "/login/", {"email": f"u{i}@example.com", "password": "wrong password"}
                )
            self.assertEqual(cache.get(_ip_key("203.0.113.50")), 3)
            blocked = Client(REMOTE_ADDR="203.0.113.50", HTTP_X_FORWARDED_FOR="10.9.9.9").post(
                "/login/", {"email": "v@example.com", "password": "wrong password"}
            )
        self.assertEqual(blocked.status_code, 429)
        cache.clear()
