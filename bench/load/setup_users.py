"""Create the load-test users in the current database; run by run_load.py through ``manage.py shell``.

Reads LOAD_USERS (count) and LOAD_FIXTURES (output JSON path) from the environment. Every user
has a confirmed authenticator app and a learned history from one laptop at home (Oslo demo range),
so a sign-in from that laptop with its device cookie needs only the password, and one from a new
phone is challenged. Writes emails, TOTP keys, device ids and signed device cookies.
"""

import json
import os
from datetime import timedelta

from django.contrib.auth.hashers import make_password
from django.http import HttpResponse
from django.utils import timezone

from authsite.accounts.models import User
from factors import services
from factors.models import TOTPDevice
from risk import services as risk_services
from risk.context import context_from_parts
from risk.device import COOKIE_NAME, cookie_name, device_cookie_set
from risk.geo import lookup

PASSWORD = "load test passphrase 2026"
LAPTOP = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
count = int(os.environ["LOAD_USERS"])
now = timezone.now()
hashed = make_password(PASSWORD)  # one Argon2id hash for all: setting up must not take minutes
users = User.objects.bulk_create(
    [
        User(email=f"load{i}@example.com", password=hashed, email_verified_at=now, last_login=now, is_active=True)
        for i in range(count)
    ]
)
users = list(User.objects.filter(email__startswith="load").order_by("pk"))
out = []
for i, user in enumerate(users):
    device = services.factor_enroll_totp_begin(user=user, name="Phone app").device
    TOTPDevice.objects.filter(pk=device.pk).update(confirmed=True)
    ip = f"192.0.2.{10 + i % 200}"
    device_id = f"load-laptop-{i:05d}"
    geo = lookup(ip)
    for n in range(8):
        when = now - timedelta(days=8 - n, minutes=i % 50)
        ctx = context_from_parts(
            user_id=user.pk, ip=ip, user_agent=LAPTOP, timestamp=when, geo=geo, device_id=device_id
        )
        risk_services.login_succeeded(context=ctx)
    response = HttpResponse()
    device_cookie_set(response, device_id)
    out.append(
        {
            "email": user.email,
            "ip": ip,
            "key": device.bin_key.hex(),
            "device": device.persistent_id,
            "cookie": response.cookies[cookie_name(COOKIE_NAME)].value,
        }
    )
with open(os.environ["LOAD_FIXTURES"], "w") as fh:
    json.dump({"password": PASSWORD, "laptop": LAPTOP, "cookie_name": cookie_name(COOKIE_NAME), "users": out}, fh)
print(f"created {len(out)} users with an authenticator app and 8 learned sign-ins each")
