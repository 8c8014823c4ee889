"""Live servers: a throwaway copy of the site under gunicorn, and a small HTTP client for it.

Used by the scale-out tests and by the load benchmarks in bench/load, so that both set up, start
and stop the site the same way. It imports nothing from Django: the benchmarks run it in a plain
Python process and configure the site only through the environment of the processes they start.

The client keeps its own cookie store (the site's cookies are ``__Host-`` and ``Secure``, which
``http.cookiejar`` will not send over plain HTTP), reads CSRF tokens from the HTML, and adds the
headers a TLS-terminating proxy would add.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Self

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]

_CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Variables the site reads its database, cache and Django settings from: a throwaway site must not
# inherit them from whoever started it.
_SITE_VARIABLES = ("DJANGO_", "DATABASE_URL", "REDIS_URL")


# --- the site ---------------------------------------------------------------------------------


def free_port() -> int:
    """Return a loopback TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    """Wait until something accepts connections on the loopback ``port``."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def clean_environ() -> dict[str, str]:
    """Return this process's environment without the variables that configure the site."""
    return {k: v for k, v in os.environ.items() if not k.startswith(_SITE_VARIABLES)}


def loopback_env(workdir: str | Path, **settings: str) -> dict[str, str]:
    """Return production settings for a site served on 127.0.0.1 whose files live in ``workdir``.

    Static files and the demo GeoIP databases (made by ``LiveSite.install``) go into ``workdir``;
    ``settings`` (DATABASE_URL, REDIS_URL, CACHE_KEY_PREFIX, ...) are added last.
    """
    env = clean_environ()
    env.update(
        DJANGO_SETTINGS_MODULE="authsite.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        ALLOWED_HOSTS="127.0.0.1",
        SITE_URL="https://127.0.0.1",
        TRUSTED_PROXY_COUNT="1",
        MAIL_BACKEND="locmem",
        SMS_BACKEND="console",
        FACTORS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
        WEBAUTHN_RP_ID="127.0.0.1",
        WEBAUTHN_ORIGINS="https://127.0.0.1",
        STATIC_ROOT=f"{workdir}/static",
        LOG_LEVEL="WARNING",
        GEOIP_CITY_DB=f"{workdir}/geo/demo-city.mmdb",
        GEOIP_ASN_DB=f"{workdir}/geo/demo-asn.mmdb",
    )
    env.update(settings)
    return env


def cache_keys_delete(redis_url: str, prefix: str) -> None:
    """Delete the keys a throwaway site wrote under its ``CACHE_KEY_PREFIX``."""
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


class ManageError(RuntimeError):
    """A management command of the live site failed."""


class LiveSite:
    """A throwaway deployment: settings in ``env``, files and server logs in ``workdir``.

    ``install`` prepares the database and files, ``start`` adds a gunicorn server on a free port,
    ``wait`` waits for every server to accept connections, and ``stop`` (or leaving a ``with``
    block) stops them all: SIGTERM for a graceful shutdown, SIGKILL after 20 s.
    """

    def __init__(self, env: dict[str, str], workdir: str | Path) -> None:
        self.env = env
        self.workdir = Path(workdir)
        self.ports: list[int] = []
        self._servers: list[tuple[subprocess.Popen, IO[str]]] = []

    def manage(self, *args: str, timeout: int = 600) -> str:
        """Run ``manage.py ARGS`` against the site and return what it printed."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            check=False,
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise ManageError(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
        return result.stdout

    def install(self) -> None:
        """Write the demo GeoIP databases if missing, create the tables and collect static files."""
        city = Path(self.env["GEOIP_CITY_DB"])
        if not city.exists():
            # Demo data (RFC 5737 ranges only), so the command wants --force without DEBUG.
            self.manage("geoip_demo_db", str(city.parent), "--force")
        self.manage("migrate", "--noinput")
        self.manage("collectstatic", "--noinput")

    def start(self, *, workers: int, options: tuple[str, ...] = (), **settings: str) -> int:
        """Start gunicorn with ``settings`` on top of the site's and return its port.

        Its output goes to ``gunicorn-PORT.log`` in the working directory, for a look when
        something fails. Call ``wait`` before sending requests.
        """
        port = free_port()
        log = open(self.workdir / f"gunicorn-{port}.log", "w")  # closed by stop()
        command = [str(Path(sys.executable).with_name("gunicorn")), "authsite.wsgi"]
        command += ["--bind", f"127.0.0.1:{port}", "--workers", str(workers), *options]
        server = subprocess.Popen(command, cwd=ROOT, env={**self.env, **settings}, stdout=log, stderr=subprocess.STDOUT)
        self._servers.append((server, log))
        self.ports.append(port)
        return port

    def wait(self, timeout: float = 30.0) -> None:
        """Wait until every server started so far accepts connections."""
        for port in self.ports:
            wait_until_up(port, timeout)

    def stop(self) -> None:
        """Stop every server: let it finish its requests, and kill it if it takes over 20 s."""
        for server, _ in self._servers:
            server.terminate()
        for server, log in self._servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=5)
            log.close()
        self._servers.clear()
        self.ports.clear()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


# --- the client -------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")


def csrf_token(html: str) -> str | None:
    """Return the CSRF token of the first form in ``html``, if there is one."""
    match = _CSRF_RE.search(html)
    return match.group(1) if match else None


class Browser:
    """One browser: cookies kept across requests, and across servers (one site behind a proxy)."""

    def __init__(self, client_ip: str, *, timeout: float = 30) -> None:
        self.client_ip = client_ip
        self.timeout = timeout
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
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=self.timeout)
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
        token = csrf_token(form.body)
        assert token, f"no CSRF token on {page or path} (status {form.status})"
        return self.request(port, "POST", path, {**data, "csrfmiddlewaretoken": token})
