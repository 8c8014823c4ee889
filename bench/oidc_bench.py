"""Benchmark the OpenID Connect provider: the full code flow against a plain password sign-in,
and the token endpoint alone.

    [DATABASE_URL=postgres://USER@HOST:5432/NAME] python bench/oidc_bench.py [--n 60] [--tokens 300]

Runs in one process on a throwaway database: with ``DATABASE_URL`` (PostgreSQL, as in
production) ``NAME_oidcbench_PID`` is created next to NAME with Django's test-database machinery
and dropped at the end; without it, a temporary SQLite file (whose fsync per commit weighs on the
flow, which writes more rows than a plain sign-in). The site's production password hashers
(Argon2id first) and the shipped login stages with the demo GeoIP databases. Requests go through
Django's test client (the whole WSGI stack: middleware, sessions, CSRF, templates), one at a time;
the numbers are server work per request, without network or a web server in front.

Measured, interleaved in blocks of 10 so machine noise hits both alike:

- plain: Django's ``LoginView`` with the same hasher: GET the page, POST the password (a session).
- full code flow: GET /o/authorize/ (redirect to the login page), GET the login page, POST the
  password (the risk stage on a known device: the device cookie of earlier sign-ins, so the
  engine allows without a second step; the login event, learning and listeners), GET
  /o/authorize/ again (the code), POST /o/token/ (client secret, PKCE S256, ID token signed with
  RS256), GET /o/userinfo/.

Then the token endpoint alone: ``--tokens`` codes are made first (a signed-in session,
``prompt=none``), then each is exchanged (client authentication, PKCE check, code replay record,
ID-token signing, token rows) and timed.

Prints per-operation medians, sign-ins per second of each kind, the ratio full flow / plain (the
target is >= 85%), and the token endpoint's requests/s with median and p95, plus the load average.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_TMP = tempfile.mkdtemp(prefix="oidc-bench-")
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP}/bench.sqlite3")
os.environ.update(
    DJANGO_SETTINGS_MODULE="authsite.settings",
    DJANGO_DEBUG="true",  # development defaults for what the bench does not set; DEBUG is off below
    SITE_URL="http://testserver",
    ALLOWED_HOSTS="testserver",
    LOG_LEVEL="CRITICAL",
)
BLOCK = 10
PASSWORD = "correct horse battery staple"
REDIRECT = "https://app.example.com/callback"
DEMO_IP = "192.0.2.10"  # Oslo in the demo GeoIP databases
UA = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"
)


def pctl(sorted_ms: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted samples."""
    return sorted_ms[min(len(sorted_ms) - 1, max(0, round(q * len(sorted_ms)) - 1))]


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=60, help="sign-ins of each kind (default 60)")
    parser.add_argument("--tokens", type=int, default=300, help="code exchanges timed (default 300)")
    args = parser.parse_args()

    from authsite.oidc.keys import key_generate

    os.environ["OIDC_SIGNING_KEYS"] = key_generate()  # RS256, 3072-bit, as `oidc_keys generate` makes
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.views import LoginView
    from django.core.management import call_command
    from django.urls import clear_url_caches, path

    from authsite import urls as site_urls
    from risk.geo import build_demo_databases

    settings.DEBUG = False  # no query log, as in production
    city, asn = build_demo_databases(_TMP)
    settings.RISK_GEOIP_CITY_DB, settings.RISK_GEOIP_ASN_DB = str(city), str(asn)
    site_urls.urlpatterns.append(path("bench/plain-login/", LoginView.as_view(), name="bench_plain_login"))
    clear_url_caches()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    old_config = None
    if connection.vendor == "postgresql":
        db = settings.DATABASES["default"]
        db.setdefault("TEST", {})["NAME"] = f"{db['NAME']}_oidcbench_{os.getpid()}"
        print("creating and migrating a throwaway PostgreSQL database...", file=sys.stderr)
        old_config = setup_databases(verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set())
    else:
        print("migrating a throwaway SQLite database...", file=sys.stderr)
        call_command("migrate", verbosity=0)
    try:
        run(args, settings)
    finally:
        if old_config is not None:
            teardown_databases(old_config, verbosity=0)


def run(args, settings) -> None:  # noqa: PLR0915 (one measured scenario, read top to bottom)
    from django.contrib.auth.views import LoginView  # noqa: F401  (wired in main)
    from django.test import Client
    from django.utils import timezone

    from authsite.accounts.models import User
    from tests.oidc.factories import make_client

    app, secret = make_client(name="Bench App", redirect_uris=[REDIRECT])
    user = User.objects.create_user(email="bench@example.com", password=PASSWORD, email_verified_at=timezone.now())
    print(
        f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; "
        f"hasher: {settings.PASSWORD_HASHERS[0].rsplit('.', 1)[-1]}; stages: {', '.join(settings.LOGIN_STAGES)}"
    )

    def browser(device_cookies=None) -> Client:
        client = Client(REMOTE_ADDR=DEMO_IP, HTTP_USER_AGENT=UA)
        for name, value in (device_cookies or {}).items():
            client.cookies[name] = value
        return client

    def authorize_url(challenge: str, **extra: str) -> str:
        params = {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": REDIRECT,
            "scope": "openid email",
            "state": secrets.token_urlsafe(8),
            "nonce": secrets.token_urlsafe(8),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            **extra,
        }
        return "/o/authorize/?" + urlencode(params)

    timings: dict[str, list[float]] = {}

    def timed(label: str, call):
        started = time.perf_counter()
        response = call()
        timings.setdefault(label, []).append((time.perf_counter() - started) * 1000)
        return response

    def code_of(response) -> str:
        location = response["Location"]
        assert location.startswith(REDIRECT), location
        return parse_qs(urlsplit(location).query)["code"][0]

    def full_flow(cookies) -> float:
        client = browser(cookies)
        verifier, challenge = pkce()
        started = time.perf_counter()
        first = timed("flow: authorize (anonymous)", lambda: client.get(authorize_url(challenge)))
        login_url = first["Location"]
        next_url = parse_qs(urlsplit(login_url).query)["next"][0]
        timed("flow: login page", lambda: client.get(login_url))
        done = timed(
            "flow: password + risk stage",
            lambda: client.post("/login/", {"email": user.email, "password": PASSWORD, "next": next_url}),
        )
        assert done["Location"] == next_url, f"the risk engine asked for more: {done['Location']}"
        code = code_of(timed("flow: authorize (code)", lambda: client.get(next_url)))
        token = timed(
            "flow: token",
            lambda: Client().post(
                "/o/token/",
                {
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": REDIRECT,
                    "code_verifier": verifier,
                    "client_id": app.client_id,
                    "client_secret": secret,
                },
            ),
        )
        assert token.status_code == 200, token.content
        access = token.json()["access_token"]
        info = timed("flow: userinfo", lambda: Client().get("/o/userinfo/", HTTP_AUTHORIZATION=f"Bearer {access}"))
        assert info.status_code == 200, info.content
        return time.perf_counter() - started

    def plain() -> float:
        client = browser()
        started = time.perf_counter()
        timed("plain: login page", lambda: client.get("/bench/plain-login/"))
        done = timed(
            "plain: password",
            lambda: client.post("/bench/plain-login/", {"username": user.email, "password": PASSWORD}),
        )
        assert done.status_code == 302, done.status_code
        return time.perf_counter() - started

    # Warm-up: the first sign-in (a new account confirmed today needs no second step) gives this
    # "browser" its device cookie; later sign-ins with it are a known device.
    warm = browser()
    full_flow_cookies = {}
    verifier, challenge = pkce()
    first = warm.get(authorize_url(challenge))
    next_url = parse_qs(urlsplit(first["Location"]).query)["next"][0]
    done = warm.post("/login/", {"email": user.email, "password": PASSWORD, "next": next_url})
    assert done["Location"] == next_url, done["Location"]
    for name, morsel in warm.cookies.items():
        if "device" in name:
            full_flow_cookies[name] = morsel.value
    for _ in range(3):
        full_flow(full_flow_cookies)
        plain()
    timings.clear()

    flow_s: list[float] = []
    plain_s: list[float] = []
    while len(flow_s) < args.n:
        for _ in range(min(BLOCK, args.n - len(flow_s))):
            flow_s.append(full_flow(full_flow_cookies))
        for _ in range(min(BLOCK, args.n - len(plain_s))):
            plain_s.append(plain())

    # The token endpoint alone: codes made first by a signed-in session, then exchanged.
    pending = []
    signed_in = browser(full_flow_cookies)
    verifier, challenge = pkce()
    first = signed_in.get(authorize_url(challenge))
    next_url = parse_qs(urlsplit(first["Location"]).query)["next"][0]
    signed_in.post("/login/", {"email": user.email, "password": PASSWORD, "next": next_url})
    for _ in range(args.tokens):
        verifier, challenge = pkce()
        pending.append((code_of(signed_in.get(authorize_url(challenge, prompt="none"))), verifier))
    back_channel = Client()
    token_ms = []
    for code, verifier in pending:
        started = time.perf_counter()
        response = back_channel.post(
            "/o/token/",
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": REDIRECT,
                "code_verifier": verifier,
                "client_id": app.client_id,
                "client_secret": secret,
            },
        )
        token_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200 and "id_token" in response.json(), response.content

    print(f"\n{'operation':34} {'median ms':>10} {'p95 ms':>8}")
    for label, samples in timings.items():
        ordered = sorted(samples)
        print(f"{label:34} {statistics.median(ordered):10.1f} {pctl(ordered, 0.95):8.1f}")
    flow_rate = len(flow_s) / sum(flow_s)
    plain_rate = len(plain_s) / sum(plain_s)
    print()
    for label, rate, samples in (("full code flow", flow_rate, flow_s), ("plain LoginView", plain_rate, plain_s)):
        median_ms = statistics.median(samples) * 1000
        print(f"{label}: {rate:.2f} sign-ins/s (median {median_ms:.0f} ms, n={len(samples)})")
    ratio = flow_rate / plain_rate
    print(f"ratio full flow / plain: {ratio:.1%} (target >= 85%: {'met' if ratio >= 0.85 else 'MISSED'})")
    token_sorted = sorted(token_ms)
    print(
        f"token endpoint (code + PKCE + RS256 ID token): {len(token_ms) / (sum(token_ms) / 1000):.0f} requests/s, "
        f"median {statistics.median(token_sorted):.2f} ms, p95 {pctl(token_sorted, 0.95):.2f} ms (n={len(token_ms)})"
    )
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    try:
        main()
    finally:
        import shutil

        shutil.rmtree(_TMP, ignore_errors=True)
