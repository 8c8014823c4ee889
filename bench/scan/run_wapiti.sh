#!/usr/bin/env bash
# Scan the site with wapiti, served by gunicorn with production settings on the loopback address.
#
# Installs nothing: it stops and says what to install when wapiti is missing. The site gets a
# throwaway SQLite database (served over HTTPS with a self-signed certificate by default, see SCHEME), collected static files and the demo GeoIP databases in a temporary
# directory; one test user is created. The full JSON report and a summary are written under
# bench/out/scan/ (ignored by git). Exits 1 when any finding is above "low", 2 on setup errors.
#
#   bench/scan/run_wapiti.sh                 # defaults: 300 s scan, port picked at random
#   SCAN_TIME=600 PORT=8765 bench/scan/run_wapiti.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-$ROOT/.venv/bin/python}"
SCAN_TIME="${SCAN_TIME:-300}"
SCHEME="${SCHEME:-https}"
ATTACK_TIME="${ATTACK_TIME:-60}"
# Web-application modules only. ssrf and xxe are left out: they call an endpoint on the internet.
MODULES="${MODULES:-xss,permanentxss,sql,blindsql,exec,file,redirect,crlf,csrf,http_headers,cookieflags,csp,methods,backup,htaccess}"
OUT="${OUT:-$ROOT/bench/out/scan}"

if ! command -v wapiti >/dev/null 2>&1; then
    echo "wapiti is not installed. On Debian/Ubuntu: apt-get install -y wapiti" >&2
    exit 2
fi
# wapiti runs under the interpreter it is installed for, through wapiti_django.py, which adds
# Django's CSRF field name to the names its csrf module tests (see that file).
WAPITI_PYTHON="${WAPITI_PYTHON:-$(sed -n '1s/^#! *//p' "$(command -v wapiti)")}"
if ! "$WAPITI_PYTHON" -c 'import wapitiCore' 2>/dev/null; then
    echo "Cannot import wapitiCore with $WAPITI_PYTHON; set WAPITI_PYTHON to wapiti's interpreter" >&2
    exit 2
fi
if [ ! -x "$PYTHON" ]; then
    echo "No Python at $PYTHON; set PYTHON=/path/to/venv/bin/python" >&2
    exit 2
fi
GUNICORN="$(dirname "$PYTHON")/gunicorn"
if [ ! -x "$GUNICORN" ]; then
    echo "gunicorn is not installed next to $PYTHON (pip install -r requirements/main.txt)" >&2
    exit 2
fi

PORT="${PORT:-$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
BASE="$SCHEME://127.0.0.1:$PORT"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/wapiti-scan.XXXXXX")"
SERVER_PID=""
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

# SCHEME=https (default): gunicorn terminates TLS itself with a throwaway self-signed certificate,
# so Django sees real HTTPS: Secure/__Host- cookies come back, the CSRF Referer check passes and
# the injection modules reach the views. SCHEME=http: plain HTTP with one trusted proxy, wapiti
# sends "X-Forwarded-Proto: https"; Django then refuses every form POST (insecure Referer, and
# Secure cookies are not returned over http), so only GET surfaces and headers are really tested.
export DJANGO_SETTINGS_MODULE=authsite.settings
export DJANGO_DEBUG=false
export DJANGO_SECRET_KEY="$("$PYTHON" -c 'import secrets; print(secrets.token_urlsafe(50))')"
export FACTORS_ENCRYPTION_KEYS="$("$PYTHON" -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')"
export ALLOWED_HOSTS="127.0.0.1"
export DATABASE_URL="sqlite:///$TMP/db.sqlite3"
export STATIC_ROOT="$TMP/static"
# Mail goes to a closed loopback port: sends fail and are logged, nothing leaves the host.
export MAIL_BACKEND=smtp SMTP_HOST=127.0.0.1 SMTP_PORT=9 SMTP_STARTTLS=false SMTP_TIMEOUT=2
export SMS_BACKEND="${SMS_BACKEND:-console}"
export WEBAUTHN_RP_ID=127.0.0.1
export WEBAUTHN_ORIGINS="https://127.0.0.1:$PORT"
TLS_ARGS=()
SCAN_HEADERS=()
if [ "$SCHEME" = https ]; then
    export TRUSTED_PROXY_COUNT=0
    "$PYTHON" - "$TMP" <<'PY'
import datetime
import ipaddress
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

key = ec.generate_private_key(ec.SECP256R1())
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
now = datetime.datetime.now(datetime.UTC)
cert = (
    x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
    .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    .sign(key, hashes.SHA256())
)
open(f"{sys.argv[1]}/cert.pem", "wb").write(cert.public_bytes(serialization.Encoding.PEM))
open(f"{sys.argv[1]}/key.pem", "wb").write(
    key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
)
PY
    TLS_ARGS=(--certfile "$TMP/cert.pem" --keyfile "$TMP/key.pem")
elif [ "$SCHEME" = http ]; then
    export TRUSTED_PROXY_COUNT=1
    SCAN_HEADERS=(-H "X-Forwarded-Proto: https")
else
    echo "SCHEME must be https or http" >&2
    exit 2
fi
export PYTHONDONTWRITEBYTECODE=1

cd "$ROOT"
echo "== setting up a throwaway site in $TMP"
DJANGO_DEBUG=true "$PYTHON" manage.py geoip_demo_db "$TMP/geoip" >/dev/null
export GEOIP_CITY_DB="$TMP/geoip/demo-city.mmdb" GEOIP_ASN_DB="$TMP/geoip/demo-asn.mmdb"
"$PYTHON" manage.py migrate --noinput >/dev/null
"$PYTHON" manage.py collectstatic --noinput >/dev/null
# Errors stop the run; the warning about the console text backend (nothing leaves the host) is expected.
"$PYTHON" manage.py check --deploy
"$PYTHON" manage.py shell -c "
from django.contrib.auth import get_user_model
get_user_model().objects.create_user(email='scan@example.com', password='scan-user passphrase 42')
"

"$GUNICORN" authsite.wsgi --bind "127.0.0.1:$PORT" --workers 2 --log-level warning "${TLS_ARGS[@]}" \
    >"$TMP/gunicorn.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 100); do
    if "$PYTHON" -c "import urllib.request, sys; import ssl; urllib.request.urlopen(urllib.request.Request('$BASE/login/', headers={'X-Forwarded-Proto': 'https'}), timeout=2, context=ssl._create_unverified_context())" 2>/dev/null; then
        break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$TMP/gunicorn.log" >&2; echo "gunicorn did not start" >&2; exit 2; }
    sleep 0.2
done

mkdir -p "$OUT"
REPORT="$OUT/wapiti.json"
rm -f "$REPORT"
CMD=("$WAPITI_PYTHON" "$ROOT/bench/scan/wapiti_django.py" -u "$BASE/" --scope folder -m "$MODULES"
    "${SCAN_HEADERS[@]}" --verify-ssl 0
    --max-scan-time "$SCAN_TIME" --max-attack-time "$ATTACK_TIME"
    --max-links-per-page 50 --max-files-per-dir 50 --depth 5 -S normal -t 10
    --flush-session --store-session "$TMP/wapiti-session" --store-config "$TMP/wapiti-config"
    --no-bugreport -v 1 -f json -o "$REPORT")
echo "== ${CMD[*]}"
set +e
"${CMD[@]}" >"$OUT/wapiti.log" 2>&1
WAPITI_RC=$?
set -e
cp "$TMP/gunicorn.log" "$OUT/gunicorn.log"
if [ ! -s "$REPORT" ]; then
    tail -30 "$OUT/wapiti.log" >&2
    echo "wapiti wrote no report (exit $WAPITI_RC)" >&2
    exit 2
fi

# Summarise: findings (vulnerabilities and anomalies) by severity; exit 1 above "low".
"$PYTHON" - "$REPORT" "$OUT/summary.txt" <<'PY'
import json
import sys

LEVELS = {4: "critical", 3: "high", 2: "medium", 1: "low", 0: "info"}
report = json.load(open(sys.argv[1]))
counts = {name: 0 for name in LEVELS.values()}
lines = []
for section in ("vulnerabilities", "anomalies", "additionals"):
    for category, findings in (report.get(section) or {}).items():
        for finding in findings:
            level = LEVELS.get(int(finding.get("level") or 0), "info")
            counts[level] += 1
            where = f"{finding.get('method', '')} {finding.get('path', '')}".strip()
            param = f" [{finding['parameter']}]" if finding.get("parameter") else ""
            kind = {"vulnerabilities": "vulnerability", "anomalies": "anomaly", "additionals": "additional"}[section]
            lines.append(f"{level:8} {kind}: {category}: {where}{param}: {finding.get('info', '')}")
info = report.get("infos", {})
summary = [
    f"target {info.get('target')} ({info.get('version')})",
    "findings by severity: " + ", ".join(f"{name}={counts[name]}" for name in ("critical", "high", "medium", "low", "info")),
    *sorted(lines, key=lambda line: ["critical", "high", "medium", "low", "info"].index(line.split()[0])),
]
text = "\n".join(summary) + "\n"
open(sys.argv[2], "w").write(text)
print(text, end="")
sys.exit(1 if counts["critical"] or counts["high"] or counts["medium"] else 0)
PY
