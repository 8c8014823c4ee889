"""The client IP address: one function, so tests and every caller agree (docs/house-rules.md, rule 3)."""

from __future__ import annotations

import ipaddress
import re

from django.conf import settings
from django.http import HttpRequest

# Dotted-quad IPv4 exactly as ipaddress accepts and prints it: ASCII digits, 0-255, no leading
# zeros. Such text is already canonical, so it skips building an address object (the risk replay
# canonicalises every row's address).
_PLAIN_IPV4 = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
)
_plain_ipv4 = _PLAIN_IPV4.fullmatch


def canonical_ip_or_none(value: str) -> str | None:
    """Return the canonical text of an IP address, or None if ``value`` is not one.

    Surrounding whitespace is ignored and an IPv4-mapped IPv6 address becomes plain IPv4: GeoIP
    databases built without IPv4 aliasing miss ``::ffff:192.0.2.1``, and throttles must count
    both spellings as one client.
    """
    value = value.strip()
    if _plain_ipv4(value) is not None:
        return value
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return str(address)


DEMO_COOKIE = "demo_client_ip"


def _demo_ip(request: HttpRequest, remote: str) -> str | None:
    """In DEBUG only, from loopback only: the address chosen on the /demo/ page (a cookie)."""
    if not settings.DEBUG or not ipaddress.ip_address(remote).is_loopback:
        return None
    return canonical_ip_or_none(request.COOKIES.get(DEMO_COOKIE, ""))


def client_ip(request: HttpRequest) -> str:
    """Return the address of the client that sent ``request``.

    ``REMOTE_ADDR`` unless ``TRUSTED_PROXY_COUNT`` proxies are in front of the app. Each trusted
    proxy appends the address it received the request from to X-Forwarded-For, so the client is
    the entry that many positions from the right. The left-most entry is whatever the client chose
    to send and is never trusted.
    """
    # "0.0.0.0" stands for "no usable peer address" (never a real client): it still gets throttled.
    remote = canonical_ip_or_none(request.META.get("REMOTE_ADDR", "")) or "0.0.0.0"  # noqa: S104
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return _demo_ip(request, remote) or remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    forwarded = [part for part in forwarded if part]
    if len(forwarded) < count:
        # Fewer hops than proxies: the request did not come through the whole proxy chain.
        return remote
    return canonical_ip_or_none(forwarded[-count]) or remote


# An IPv6 /64 is one subnet, routinely one customer's: a client holds every address in it.
IPV6_CLIENT_PREFIX = 64


def ip_rate_key(ip: str) -> str:
    """Return what per-IP throttles and send caps count: an IPv4 address, or an IPv6 address's /64.

    One host given a /64 can use a fresh address for every request (RFC 4941 privacy addresses
    make that the default), so counting single IPv6 addresses would give it 2**64 budgets.
    """
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)
