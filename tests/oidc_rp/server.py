"""Run the test relying party under gunicorn, in its own process, next to the provider's live server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_SECONDS = 30


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RelyingParty:
    """One app process (gunicorn, one worker) registered at the provider as ``client_id``.

    It listens on 127.0.0.1 while the provider's live server is ``localhost``: browsers keep cookies
    per host name, so the two sites' cookies stay apart as they would on two domains.
    """

    def __init__(self, *, provider_url: str, client_id: str, client_secret: str = "", port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.state_dir = tempfile.mkdtemp(prefix="oidc-rp-")
        self.log = Path(self.state_dir) / "gunicorn.log"
        gunicorn = Path(sys.executable).with_name("gunicorn")
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.oidc_rp.settings",
            "RP_PROVIDER_URL": provider_url,
            "RP_CLIENT_ID": client_id,
            "RP_CLIENT_SECRET": client_secret,
            "RP_STATE_DIR": self.state_dir,
            "RP_COOKIE_PREFIX": f"rp{self.port}",
            # The provider in the tests is plain http on loopback; Authlib refuses that unless told.
            "AUTHLIB_INSECURE_TRANSPORT": "1",
        }
        with self.log.open("w") as log:
            self.process = subprocess.Popen(
                [
                    str(gunicorn),
                    "tests.oidc_rp.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{self.port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--timeout",
                    "60",
                    "--chdir",
                    str(ROOT),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the relying party exited: {self.output()}")
            try:
                with urllib.request.urlopen(self.url + "/", timeout=2):
                    return
            except urllib.error.HTTPError as exc:
                output = self.output()
                self.stop()
                raise RuntimeError(f"the relying party answers {exc.code}: {output}") from exc
            except OSError:
                time.sleep(0.2)
        output = self.output()
        self.stop()
        raise RuntimeError(f"the relying party did not start within {READY_SECONDS} s: {output}")

    def output(self) -> str:
        return self.log.read_text() if self.log.exists() else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.state_dir, ignore_errors=True)
