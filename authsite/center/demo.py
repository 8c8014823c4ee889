"""A DEBUG-only page to present a chosen client IP from localhost, to watch the risk engine work.

"Sign in from Oslo, then from Sao Paulo ten minutes later": pick an address of the demo GeoIP
database (``manage.py geoip_demo_db``), sign in, pick another, sign in again. The page and the
cookie it sets do nothing unless DEBUG is on and the request comes from a loopback address.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from authsite.core.clientip import DEMO_COOKIE, canonical_ip_or_none, client_ip

PLACES = [
    ("192.0.2.10", "Oslo, Norway (home broadband)"),
    ("192.0.2.77", "Oslo, Norway (another address, same network)"),
    ("198.51.100.7", "Sao Paulo, Brazil (telecom)"),
    ("203.0.113.5", "Sydney, Australia (cloud hosting network)"),
]


@require_http_methods(["GET", "POST"])
def demo_view(request: HttpRequest) -> HttpResponse:
    if not settings.DEBUG:
        raise Http404
    if request.method == "POST":
        response = redirect("demo")
        chosen = canonical_ip_or_none(request.POST.get("ip", ""))
        if chosen:
            response.set_cookie(DEMO_COOKIE, chosen, samesite="Lax", httponly=True)
        else:
            response.delete_cookie(DEMO_COOKIE)
        return response
    return render(request, "demo.html", {"places": PLACES, "current": client_ip(request)})
