"""Load run: gunicorn (2 workers, production settings, Argon2id) on PostgreSQL and Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/9 \\
        python bench/load/run_load.py [-u 20] [-r 5] [-t 60s] [--compare-time 15s] [--rounds 4]

Everything is throwaway and on loopback: a new database (dropped at the end), a Redis key prefix
of its own (deleted at the end), demo GeoIP files, users with a learned laptop (setup_users.py).
Locust runs, one after the other:

1. mixed traffic (locustfile.MixedTraffic) against the adaptive site: requests/s, median and p95
   latency, server errors, and login events recorded against correct-password attempts made;
2. known-device sign-ins only, in alternating rounds, against the adaptive site (the default
   LOGIN_STAGES) and a second gunicorn with LOGIN_STAGES="" (the password alone signs in, as with
   Django's plain LoginView), same database, Redis and hasher: sign-ins/s side by side.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.scaleout.live import LiveSite, ManageError, cache_keys_delete, loopback_env

HERE = Path(__file__).resolve().parent
PY = sys.executable


COUNT_EVENTS = (
    "from risk.models import LoginEvent; from django.db.models import Count; import json; "
    "print('EVENTS' + json.dumps({'total': LoginEvent.objects.count(), "
    "**{r['outcome']: r['n'] for r in LoginEvent.objects.values('outcome').annotate(n=Count('id'))}}))"
)


def count_events(site: LiveSite) -> dict:
    return json.loads(site.manage("shell", "-c", COUNT_EVENTS).split("EVENTS", 1)[1])


def locust(port: int, results: Path, env: dict, *, users: int, rate: int, duration: str, cls: str) -> dict:
    # Locust from this interpreter's environment, else the one on PATH (it may live in a venv of its own).
    beside = Path(PY).with_name("locust")
    locust_bin = str(beside) if beside.exists() else shutil.which("locust")
    if locust_bin is None:
        sys.exit("locust not found beside this Python nor on PATH (python -m pip install locust)")
    cmd = [locust_bin, "-f", str(HERE / "locustfile.py"), "--headless", "--only-summary", "-u", str(users)]
    cmd += ["-r", str(rate), "-t", duration, "--stop-timeout", "15", "--host", f"http://127.0.0.1:{port}"]
    run_env = {**env, "LOAD_RESULTS": str(results), "LOAD_CLASS": cls}
    subprocess.run(cmd, cwd=HERE, env=run_env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(results.read_text())


def main() -> int:  # noqa: PLR0915
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-u", "--users", type=int, default=20, help="locust users (mixed run)")
    parser.add_argument("-r", "--rate", type=int, default=5, help="spawn rate per second")
    parser.add_argument("-t", "--time", default="60s", help="mixed run length")
    parser.add_argument("--compare-time", default="15s", help="length of each sign-in-only run")
    parser.add_argument("--compare-users", type=int, default=8, help="locust users in the sign-in-only runs")
    parser.add_argument("--rounds", type=int, default=4, help="sign-in-only rounds per site")
    parser.add_argument("--accounts", type=int, default=400, help="accounts created")
    args = parser.parse_args()

    base = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"))
    if base.scheme not in ("postgres", "postgresql"):
        sys.exit("DATABASE_URL must point at PostgreSQL (a database is created next to it)")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    for url in (base, urllib.parse.urlsplit(redis_url)):
        if url.hostname not in ("127.0.0.1", "localhost", "::1"):
            sys.exit("loopback only")
    db_name = f"authsite_load_{secrets.token_hex(4)}"
    prefix = f"load-{secrets.token_hex(4)}"

    import psycopg

    tmp = tempfile.TemporaryDirectory(prefix="load-")
    site = LiveSite(
        loopback_env(
            tmp.name,
            DATABASE_URL=urllib.parse.urlunsplit(base._replace(path=f"/{db_name}")),
            REDIS_URL=redis_url,
            CACHE_KEY_PREFIX=prefix,
            LOAD_FIXTURES=f"{tmp.name}/fixtures.json",
            LOAD_USERS=str(args.accounts),
        ),
        tmp.name,
    )
    env = site.env
    admin_url = urllib.parse.urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    try:
        site.install()
        print(site.manage("shell", "-c", (HERE / "setup_users.py").read_text()).strip().splitlines()[-1])
        ports = {"adaptive": site.start(workers=2), "plain": site.start(workers=2, LOGIN_STAGES="")}
        site.wait()
        time.sleep(1)

        before = count_events(site)
        mixed = locust(
            ports["adaptive"], Path(tmp.name) / "mixed.json", env,
            users=args.users, rate=args.rate, duration=args.time, cls="mixed",
        )  # fmt: skip
        after = count_events(site)
        c = mixed["counts"]
        new_events = after["total"] - before["total"]
        new_success = after.get("success", 0) - before.get("success", 0)
        print(f"\n== Mixed traffic: {args.users} users, spawn {args.rate}/s, {args.time}, adaptive site ==")
        print(f"requests                  {mixed['requests']}")
        print(f"requests per second       {mixed['rps']:.1f}")
        print(f"median latency            {mixed['median_ms']:.0f} ms")
        print(f"p95 latency               {mixed['p95_ms']:.0f} ms")
        print(f"server errors (5xx/conn)  {c.get('server_errors', 0)}")
        print("flows                     " + ", ".join(f"{k}={v}" for k, v in sorted(c.items())))
        attempts = c.get("correct_password_attempts", 0)
        print(
            f"login events recorded     {new_events} for {attempts} correct-password attempts: "
            + ("equal, nothing lost" if new_events == attempts else "MISMATCH")
        )
        print(
            f"events marked success     {new_success} for {c.get('completed', 0)} completed sign-ins: "
            + ("equal" if new_success == c.get("completed", 0) else "MISMATCH")
        )

        # Rounds alternate which site goes first, so a change in background load hits both.
        totals = {label: {"done": 0, "seconds": 0.0, "errors": 0, "challenged": 0, "p95": []} for label in ports}
        for round_no in range(args.rounds):
            order = ("adaptive", "plain") if round_no % 2 == 0 else ("plain", "adaptive")
            for label in order:
                result = locust(
                    ports[label], Path(tmp.name) / f"signin-{label}-{round_no}.json", env,
                    users=args.compare_users, rate=args.compare_users, duration=args.compare_time, cls="signin",
                )  # fmt: skip
                t = totals[label]
                t["done"] += result["counts"].get("completed", 0)
                t["seconds"] += result["duration_s"]
                t["errors"] += result["counts"].get("server_errors", 0)
                t["challenged"] += result["counts"].get("challenged", 0)
                t["p95"].append(result["p95_ms"])
        print(
            f"\n== Sign-ins per second, known device, {args.compare_users} users, "
            f"{args.rounds} rounds of {args.compare_time} per site, alternating =="
        )
        rates = {}
        labels = (("adaptive", "adaptive stages (risk + challenge)"), ("plain", 'LOGIN_STAGES="" (password only)'))
        for label, what in labels:
            t = totals[label]
            rates[label] = t["done"] / t["seconds"] if t["seconds"] else 0.0
            print(
                f"{what:36} {rates[label]:6.2f} sign-ins/s  ({t['done']} in {t['seconds']:.0f} s, "
                f"p95 per round {', '.join(f'{p:.0f}' for p in t['p95'])} ms, "
                f"server errors {t['errors']}, challenged {t['challenged']})"
            )
        ratio = rates["adaptive"] / rates["plain"] if rates["plain"] else 0.0
        print(f"adaptive / plain          {ratio:.0%} (target >= 90%)")
        return 0
    except ManageError as exc:
        sys.exit(str(exc))
    finally:
        site.stop()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        cache_keys_delete(redis_url, prefix)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
