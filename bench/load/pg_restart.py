"""PostgreSQL restarted under load: what do users see, and does the site recover by itself?

    python bench/load/pg_restart.py [--seconds 30] [--restart-at 10] [--threads 4]

Runs on a throwaway cluster of its own (``initdb`` and ``pg_ctl`` on a free loopback port, as the
``postgres`` user when run as root), never on a shared one. Redis: REDIS_URL (default
redis://127.0.0.1:6379/9) with a key prefix of its own, deleted at the end. gunicorn (2 workers,
production settings, persistent connections with health checks) serves the site; threads sign
in back to back (the password step of a user without a factor; a 302 to the home page or to the
challenge counts as good, so a database round trip was made) while the
cluster is restarted with ``pg_ctl restart -m fast``. Prints the outcome of every request by
phase, the time from the restart to the first good sign-in, and the errors after recovery.
"""

from __future__ import annotations

import argparse
import collections
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.scaleout.live import Browser, LiveSite, ManageError, cache_keys_delete, csrf_token, free_port, loopback_env

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PASSWORD = "restart test passphrase 2026"


def as_postgres(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def sign_in(port: int, email: str) -> str:
    """One sign-in; returns 'ok', 'status NNN' or the exception's class name."""
    browser = Browser("192.0.2.50", timeout=15)
    try:
        form = browser.get(port, "/login/")
        token = csrf_token(form.body)
        if form.status != 200 or not token:
            return f"status {form.status}"
        data = {"email": email, "password": PASSWORD, "csrfmiddlewaretoken": token}
        response = browser.request(port, "POST", "/login/", data)
        # Signed in, or the password passed and a factor is asked for (the risk engine's call).
        where = response.location.replace("https://127.0.0.1", "")
        if response.status == 302 and where in ("/", "/account/setup/", "/login/verify/"):
            return "ok"
        return f"status {response.status}"
    except Exception as exc:
        return type(exc).__name__


def main() -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--restart-at", type=float, default=10)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    prefix = f"pgrestart-{secrets.token_hex(4)}"
    tmp = tempfile.mkdtemp(prefix="pgrestart-")
    os.chmod(tmp, 0o777)  # noqa: S103 (the postgres user writes its cluster here; removed at the end)
    data, pg_port = f"{tmp}/data", free_port()
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", data, "-l", f"{tmp}/pg.log", "-w"]
    pg_opts = ["-o", f"-p {pg_port} -k {tmp} -c listen_addresses=127.0.0.1"]
    site = LiveSite(
        loopback_env(
            tmp,
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{pg_port}/authsite_restart",
            REDIS_URL=redis_url,
            CACHE_KEY_PREFIX=prefix,
        ),
        tmp,
    )
    try:
        subprocess.run(as_postgres([str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres"]),
                       check=True, capture_output=True, timeout=120)  # fmt: skip
        subprocess.run(as_postgres([*pg_ctl, *pg_opts, "start"]), check=True, capture_output=True, timeout=60)
        import psycopg

        with psycopg.connect(f"postgresql://postgres@127.0.0.1:{pg_port}/postgres", autocommit=True) as admin:
            admin.execute("CREATE DATABASE authsite_restart")
        site.install()
        emails = [f"restart{i}@example.com" for i in range(args.threads)]
        site.manage(
            "shell",
            "-c",
            "from django.utils import timezone; from authsite.accounts.models import User\n"
            f"for e in {emails!r}:\n"
            f"    User.objects.create_user(email=e, password={PASSWORD!r}, email_verified_at=timezone.now(), "
            "last_login=timezone.now())",
        )
        port = site.start(workers=2, options=("--timeout", "60"))
        site.wait()
        results: list[tuple[float, str]] = []
        lock = threading.Lock()
        start = time.monotonic()
        stop_at = start + args.seconds

        def worker(email: str) -> None:
            while time.monotonic() < stop_at:
                outcome = sign_in(port, email)
                with lock:
                    results.append((time.monotonic() - start, outcome))

        threads = [threading.Thread(target=worker, args=(e,)) for e in emails]
        for thread in threads:
            thread.start()
        time.sleep(args.restart_at)
        restart_began = time.monotonic() - start
        subprocess.run(as_postgres([*pg_ctl, *pg_opts, "-m", "fast", "restart"]), check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        restart_done = time.monotonic() - start
        for thread in threads:
            thread.join(timeout=args.seconds + 60)

        phases = {"before": [], "during": [], "after": []}
        for at, outcome in results:
            phase = "before" if at < restart_began else "during" if at < restart_done + 2 else "after"
            phases[phase].append(outcome)
        first_ok = min((at for at, o in results if at >= restart_done and o == "ok"), default=None)
        print(f"restart: began at {restart_began:.1f} s, PostgreSQL back at {restart_done:.1f} s")
        for phase, outcomes in phases.items():
            counts = collections.Counter(outcomes)
            print(f"{phase:7} {len(outcomes):4} sign-ins: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
        print(
            "first good sign-in after the restart: "
            + (f"{first_ok - restart_done:.2f} s after PostgreSQL was back" if first_ok else "none")
        )
        bad_after = [o for o in phases["after"] if o != "ok"]
        print(f"errors from 2 s after recovery on: {len(bad_after)}")
        return 0 if not bad_after else 1
    except ManageError as exc:
        sys.exit(str(exc))
    finally:
        site.stop()
        subprocess.run(as_postgres([*pg_ctl, "-m", "immediate", "stop"]), check=False, capture_output=True, timeout=60)
        cache_keys_delete(redis_url, prefix)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
