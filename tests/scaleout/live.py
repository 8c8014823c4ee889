"""A small HTTP client for live servers: its own cookie store (the site's cookies are ``__Host-``
and ``Secure``, which ``http.cookiejar`` will not send over plain HTTP), CSRF tokens from the HTML,
and the headers a TLS-terminating proxy would add."""

from __future__ import annotations

import http.client
import re
import socket
import time
import urllib.parse
from dataclasses import dataclass

_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


class Browser:
    """One browser: cookies kept across requests, and across servers (one site behind a proxy)."""

    def __init__(self, client_ip: str) -> None:
        self.client_ip = client_ip
        self.cookies: dict[str, str] = {}

    def request(self, port: int, method: str, path: str, data: dict | None = None) -> Response:
        headers = {
            "Host": "127.0.0.1",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.client_ip,
            "User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
        }
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = "https://127.0.0.1"
            headers["Referer"] = f"https://127.0.0.1{path}"
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            raw = conn.getresponse()
            text = raw.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for header in raw.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if "max-age=0" in header.lower() or "expires=thu, 01 jan 1970" in header.lower():
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return Response(raw.status, raw.headers, text)

    def get(self, port: int, path: str) -> Response:
        return self.request(port, "GET", path)

    def post_form(self, port: int, path: str, data: dict, *, page: str | None = None) -> Response:
        """GET ``page`` (default ``path``) for a CSRF token, then POST ``data`` with it."""
        form = self.get(port, page or path)
        match = _CSRF_RE.search(form.body)
        assert match, f"no CSRF token on {page or path} (status {form.status})"
        return self.request(port, "POST", path, {**data, "csrfmiddlewaretoken": match.group(1)})


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)
