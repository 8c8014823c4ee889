"""Settings of the test relying party; everything it must know comes from the environment.

RP_PROVIDER_URL  the provider's issuer (its discovery document is under /.well-known/)
RP_CLIENT_ID     the client registered for this app in the provider's admin
RP_CLIENT_SECRET its secret (empty for a public client, which then proves itself with PKCE only)
RP_STATE_DIR     a directory for this process's sessions (file sessions, so that back-channel logout
                 can end a session that belongs to another browser)
"""

from __future__ import annotations

import os
import secrets

SECRET_KEY = os.environ.get("RP_SECRET_KEY") or secrets.token_urlsafe(32)
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.oidc_rp.urls"
WSGI_APPLICATION = "tests.oidc_rp.wsgi.application"
INSTALLED_APPS = ["django.contrib.sessions", "tests.oidc_rp"]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}]
DATABASES: dict = {}
USE_TZ = True

STATE_DIR = os.environ["RP_STATE_DIR"]
SESSION_ENGINE = "django.contrib.sessions.backends.file"
SESSION_FILE_PATH = os.path.join(STATE_DIR, "sessions")
os.makedirs(SESSION_FILE_PATH, exist_ok=True)
# The provider runs on another host name of the same machine; distinct names keep the cookies apart.
# Two apps on one host name (different ports) would share cookies, so each names its own.
COOKIE_PREFIX = os.environ.get("RP_COOKIE_PREFIX", "rp")
SESSION_COOKIE_NAME = f"{COOKIE_PREFIX}_session"
CSRF_COOKIE_NAME = f"{COOKIE_PREFIX}_csrftoken"

RP_PROVIDER_URL = os.environ["RP_PROVIDER_URL"].rstrip("/")
RP_CLIENT_ID = os.environ["RP_CLIENT_ID"]
RP_CLIENT_SECRET = os.environ.get("RP_CLIENT_SECRET", "")

# Errors go to gunicorn's output, which the tests print when the app fails.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["stderr"], "level": "WARNING"}},
}
