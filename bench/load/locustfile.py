"""Mixed sign-in traffic against one site (gunicorn behind a pretend TLS proxy).

Run by run_load.py, which sets LOAD_FIXTURES (users from setup_users.py) and LOAD_RESULTS (where
the counters go at the end). Tasks, by weight:

- known device (4): the laptop at home with its device cookie; expected to need only the password
- new device (3): a phone without a device cookie; expected to be challenged, answered with TOTP
- wrong password (2): a correct address with a wrong password; expected 200 with the form again
- page views (3): the home page and the sign-in page

``SignInOnly`` (selected with the environment variable ``LOAD_CLASS=signin``) does nothing but
the known-device sign-in, to compare the adaptive path with a plain password login.

A user's TOTP code is good once per 30 s step (replay protection), so each user is taken from a
pool while a flow runs and put back with the next step it may use.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import json
import os
import random
import re
import struct
import time

from locust import HttpUser, between, events, task

FIXTURES = json.load(open(os.environ["LOAD_FIXTURES"]))
PASSWORD = FIXTURES["password"]
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
PHONES = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36",
]

COUNTS: collections.Counter = collections.Counter()
# Users ready for a flow: (earliest TOTP step they may use, index). Wrong passwords go to the
# last tenth of the users, which never sign in, so failure counts do not change the others' risk.
_n = len(FIXTURES["users"])
WRONG_PASSWORD_USERS = FIXTURES["users"][_n - _n // 10 :]
POOL: collections.deque = collections.deque((0, i) for i in range(_n - _n // 10))


def totp(key_hex: str, at: float) -> str:
    counter = int(at) // 30
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


def take_user():
    """A user whose next TOTP step has come, or None (the flow is skipped, counted)."""
    step = int(time.time()) // 30
    for _ in range(len(POOL)):
        ready, index = POOL.popleft()
        if ready <= step:
            return index
        POOL.append((ready, index))
    return None


def give_back(index: int, used_totp: bool) -> None:
    POOL.append(((int(time.time()) // 30) + 1 if used_totp else 0, index))


class Browser:
    """Cookies by hand: the site's are ``__Host-`` and Secure, which requests keeps off plain HTTP."""

    def __init__(self, client, ip: str, ua: str, cookies: dict | None = None) -> None:
        self.client, self.ip, self.ua = client, ip, ua
        self.cookies = dict(cookies or {})

    def request(self, method: str, path: str, name: str, data: dict | None = None):
        headers = {"Host": "127.0.0.1", "X-Forwarded-Proto": "https", "X-Forwarded-For": self.ip, "User-Agent": self.ua}
        if data is not None:
            headers["Referer"] = f"https://127.0.0.1{path}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.client.cookies.clear()
        with self.client.request(
            method, path, data=data, headers=headers, name=name, allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code >= 500 or response.status_code == 0:
                COUNTS["server_errors"] += 1
                response.failure(f"server error {response.status_code}")
            else:
                response.success()
            for cookie in response.cookies:
                self.cookies[cookie.name] = cookie.value
            self.client.cookies.clear()
            return response

    def csrf(self, path: str, name: str) -> str | None:
        page = self.request("GET", path, name)
        match = CSRF_RE.search(page.text or "")
        return match.group(1) if match else None

    def post_form(self, path: str, data: dict, name: str, page: str | None = None):
        token = self.csrf(page or path, f"GET {name}")
        if token is None:
            COUNTS["no_form"] += 1
            return None
        return self.request("POST", path, f"POST {name}", {**data, "csrfmiddlewaretoken": token})


def location(response) -> str:
    return (response.headers.get("Location") or "").replace("https://127.0.0.1", "")


def sign_in(client, user: dict, *, known: bool) -> bool:
    """One sign-in; answers a challenge with TOTP. Returns whether TOTP was used."""
    if known:
        browser = Browser(client, user["ip"], FIXTURES["laptop"], {FIXTURES["cookie_name"]: user["cookie"]})
    else:
        browser = Browser(client, user["ip"], random.choice(PHONES))
    response = browser.post_form("/login/", {"email": user["email"], "password": PASSWORD}, "/login/")
    if response is None:
        return False
    if response.status_code != 302:
        COUNTS[f"password_step_{response.status_code}"] += 1
        return False
    COUNTS["correct_password_attempts"] += 1
    where = location(response)
    if where in ("/", "/account/setup/"):
        COUNTS["signed_in_password_only"] += 1
        COUNTS["completed"] += 1
        browser.request("GET", "/", "GET / (signed in)")
        return False
    if where != "/login/verify/":
        COUNTS[f"password_step_to_{where}"] += 1
        return False
    COUNTS["challenged"] += 1
    data = {"device": user["device"], "action": "verify", "code": totp(user["key"], time.time())}
    done = browser.post_form("/login/verify/", data, "/login/verify/", page=f"/login/verify/?method={user['device']}")
    if done is not None and done.status_code == 302 and location(done) in ("/", "/account/setup/"):
        COUNTS["signed_in_after_challenge"] += 1
        COUNTS["completed"] += 1
    else:
        COUNTS["challenge_not_passed"] += 1
    return True


def flow(client, *, known: bool) -> None:
    index = take_user()
    if index is None:
        COUNTS["skipped_no_free_user"] += 1
        return
    used = False
    try:
        used = sign_in(client, FIXTURES["users"][index], known=known)
    finally:
        give_back(index, used)


class MixedTraffic(HttpUser):
    wait_time = between(0.2, 1.0)

    @task(4)
    def known_device_sign_in(self):
        flow(self.client, known=True)

    @task(3)
    def new_device_sign_in(self):
        flow(self.client, known=False)

    @task(2)
    def wrong_password(self):
        user = random.choice(WRONG_PASSWORD_USERS)
        browser = Browser(self.client, f"198.51.100.{random.randint(1, 250)}", FIXTURES["laptop"])
        response = browser.post_form("/login/", {"email": user["email"], "password": "not the password"}, "/login/")
        if response is not None:
            COUNTS[f"wrong_password_{response.status_code}"] += 1

    @task(3)
    def page_views(self):
        browser = Browser(self.client, f"192.0.2.{random.randint(1, 250)}", FIXTURES["laptop"])
        browser.request("GET", "/", "GET /")
        browser.request("GET", "/login/", "GET /login/")


class SignInOnly(HttpUser):
    """Known-device sign-ins only, back to back: sign-ins per second."""

    wait_time = between(0, 0)

    @task
    def known_device_sign_in(self):
        flow(self.client, known=True)


if os.environ.get("LOAD_CLASS") == "signin":
    del MixedTraffic
else:
    del SignInOnly


@events.quitting.add_listener
def _write_results(environment, **_kwargs) -> None:
    total = environment.stats.total
    results = {
        "requests": total.num_requests,
        "rps": total.total_rps,
        "median_ms": total.median_response_time,
        "p95_ms": total.get_response_time_percentile(0.95),
        "failures": total.num_failures,
        "duration_s": (total.last_request_timestamp or 0) - (total.start_time or 0),
        "counts": dict(COUNTS),
    }
    with open(os.environ["LOAD_RESULTS"], "w") as fh:
        json.dump(results, fh, indent=1)
