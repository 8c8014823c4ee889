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
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
PY = sys.executable


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(port: int, timeout: float = 30.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def manage(env: dict, *args: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PY, "manage.py", *args], check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, **kwargs
    )
    if result.returncode != 0:
        sys.exit(f"manage.py {args[0]} failed:\n{result.stderr[-3000:]}")
    return result


def shell(env: dict, code: str) -> str:
    return manage(env, "shell", "-c", code).stdout


COUNT_EVENTS = (
    "from risk.models import LoginEvent; from django.db.models import Count; import json; "
    "print('EVENTS' + json.dumps({'total': LoginEvent.objects.count(), "
    "**{r['outcome']: r['n'] for r in LoginEvent.objects.values('outcome').annotate(n=Count('id'))}}))"
)


def count_events(env: dict) -> dict:
    return json.loads(shell(env, COUNT_EVENTS).split("EVENTS", 1)[1])


def locust(port: int, results: Path, env: dict, *, users: int, rate: int, duration: str, cls: str) -> dict:
    locust_bin = str(Path(PY).with_name("locust"))
    cmd = [locust_bin, "-f", str(HERE / "locustfile.py"), "--headless", "--only-summary", "-u", str(users)]
    cmd += ["-r", str(rate), "-t", duration, "--stop-timeout", "15", "--host", f"http://127.0.0.1:{port}"]
    run_env = {**env, "LOAD_RESULTS": str(results), "LOAD_CLASS": cls}
    subprocess.run(cmd, cwd=HERE, env=run_env, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return json.loads(results.read_text())


def main() -> int:  # noqa: PLR0912, PLR0915
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
    from cryptography.fernet import Fernet

    admin_url = urllib.parse.urlunsplit(base._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{db_name}"')
    tmp = tempfile.TemporaryDirectory(prefix="load-")
    servers: list[subprocess.Popen] = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_URL", "REDIS_URL"))}
        env.update(
            DJANGO_SETTINGS_MODULE="authsite.settings",
            DJANGO_DEBUG="false",
            DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
            ALLOWED_HOSTS="127.0.0.1",
            DATABASE_URL=urllib.parse.urlunsplit(base._replace(path=f"/{db_name}")),
            REDIS_URL=redis_url,
            CACHE_KEY_PREFIX=prefix,
            TRUSTED_PROXY_COUNT="1",
            MAIL_BACKEND="locmem",
            SMS_BACKEND="console",
            FACTORS_ENCRYPTION_KEYS=Fernet.generate_key().decode(),
            WEBAUTHN_RP_ID="127.0.0.1",
            WEBAUTHN_ORIGINS="https://127.0.0.1",
            STATIC_ROOT=f"{tmp.name}/static",
            LOG_LEVEL="WARNING",
            GEOIP_CITY_DB=f"{tmp.name}/geo/demo-city.mmdb",
            GEOIP_ASN_DB=f"{tmp.name}/geo/demo-asn.mmdb",
            LOAD_FIXTURES=f"{tmp.name}/fixtures.json",
            LOAD_USERS=str(args.accounts),
        )
        manage(env, "geoip_demo_db", f"{tmp.name}/geo", "--force")
        manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput")
        setup = (HERE / "setup_users.py").read_text()
        print(shell(env, setup).strip().splitlines()[-1])
        gunicorn = str(Path(PY).with_name("gunicorn"))
        ports = {}
        for label, stages in (("adaptive", None), ("plain", "")):
            port = free_port()
            server_env = dict(env) if stages is None else {**env, "LOGIN_STAGES": stages}
            log = open(f"{tmp.name}/gunicorn-{label}.log", "w")
            servers.append(
                subprocess.Popen(
                    [gunicorn, "authsite.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
                    cwd=ROOT,
                    env=server_env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
            ports[label] = port
        for port in ports.values():
            wait_until_up(port)
        time.sleep(1)

        before = count_events(env)
        mixed = locust(
            ports["adaptive"], Path(tmp.name) / "mixed.json", env,
            users=args.users, rate=args.rate, duration=args.time, cls="mixed",
        )  # fmt: skip
        after = count_events(env)
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
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
        import redis

        client = redis.Redis.from_url(redis_url)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
