"""Settings for the adaptive MFA site.

Every value that differs between deployments comes from the environment (twelve-factor, "III.
Config"). The defaults are for development: SQLite, the local-memory cache, console email and SMS.
Production is ``DJANGO_DEBUG=false``; it refuses to start without ``DJANGO_SECRET_KEY``.
"""

from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean from the environment ("1/true/yes/on" or "0/false/no/off")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    """Read a whole number of at least ``minimum`` (and at most ``maximum``) from the environment.

    The bounds keep a value that would quietly switch a protection off (a throttle window of 0
    seconds expires at once) or lock everyone out (0 allowed failures) from being accepted.
    """
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be at most {maximum}, not {value}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """Read a comma-separated list from the environment."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(name: str, default: str, **options) -> dict:
    """Parse a database URL from the environment; a bad one is an error naming the variable."""
    url = os.environ.get(name, "").strip() or default
    try:
        return dj_database_url.parse(url, **options)
    except ValueError as exc:
        # The URL itself may hold a password: say what is wrong, never echo it.
        reason = str(exc).split(". ", 1)[0] if isinstance(exc, dj_database_url.UnknownSchemeError) else "unreadable"
        raise ImproperlyConfigured(
            f"{name} must be a database URL such as postgres://user:password@host:5432/name or "
            f"sqlite:///path/to/db.sqlite3 ({reason})."
        ) from None


def redis_url(name: str) -> str:
    """Read a Redis URL (or comma-separated URLs) without connecting; empty means no Redis."""
    urls = [part.strip() for part in os.environ.get(name, "").split(",") if part.strip()]
    for url in urls:
        scheme = urlsplit(url).scheme.lower() if "://" in url else ""
        if scheme not in {"redis", "rediss", "unix"}:
            raise ImproperlyConfigured(
                f"{name} must start with redis://, rediss:// or unix:// (e.g. redis://host:6379/0)."
            )
    return ",".join(urls)


DEBUG = env_bool("DJANGO_DEBUG", True)
TESTING = len(sys.argv) > 1 and sys.argv[1] == "test"

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY is not set. Production mode (DJANGO_DEBUG=false) needs a long random "
            "secret, for example: export DJANGO_SECRET_KEY=\"$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))')\""
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# Number of reverse proxies in front of the app that append to X-Forwarded-For. 0 means the client
# IP is REMOTE_ADDR and forwarded headers are ignored (see authsite.core.clientip).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)

INSTALLED_APPS = [
    "authsite.accounts.apps.AccountsConfig",
    "factors.apps.FactorsConfig",
    "risk.apps.RiskConfig",
    "authsite.center.apps.CenterConfig",
    "authsite.oidc.apps.OidcConfig",
    "oauth2_provider",
    "django_otp",
    "django_tasks_db",
    "authsite.center.apps.MfaAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
]

MIDDLEWARE = [
    "authsite.accounts.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "authsite.accounts.middleware.UserLanguageMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "authsite.accounts.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    # Inside the CSP middleware: a sign-in for an application may end at that application.
    "authsite.oidc.csp.ClientFormActionMiddleware",
]

ROOT_URLCONF = "authsite.urls"
WSGI_APPLICATION = "authsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
            ],
        },
    },
]

# --- Attached resources -------------------------------------------------------------------------
DATABASES = {
    "default": database_from_url(
        "DATABASE_URL",
        f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}

REDIS_URL = redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "authsite"),
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Authentication -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Argon2id first; hashes made by the others are upgraded on the next successful login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    # Client secrets of the OpenID Connect provider only (authsite/oidc/hashers.py says why).
    "authsite.oidc.hashers.ClientSecretHasher",
]

# NIST SP 800-63B rev 4: at least 8 characters, at least 64 accepted, no composition rules,
# blocklist of common passwords and context words.
PASSWORD_MIN_LENGTH = 8
PASSWORD_MAX_LENGTH = 1024
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": PASSWORD_MIN_LENGTH},
    },
    {
        "NAME": "authsite.accounts.validators.MaximumLengthValidator",
        "OPTIONS": {"max_length": PASSWORD_MAX_LENGTH},
    },
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ["email", "first_name", "last_name"]},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# The staged login: dotted paths of stages run after a correct password, in order
# (authsite.login.stages). Empty means the password alone signs the user in.
LOGIN_STAGES: list[str] = env_list(
    "LOGIN_STAGES", ["risk.login.RiskStage", "factors.stages.ChallengeStage", "factors.stages.EnrolStage"]
)
# Told about password failures and finished sign-ins (authsite.login.listeners).
# In this order: the session's client, the risk engine's learning, then the new-sign-in email.
LOGIN_LISTENERS: list[str] = [
    "authsite.accounts.listeners.SessionClientListener",
    "risk.login.RiskLoginListener",
    "authsite.center.listeners.NewSignInListener",
]
# Where the login framework finds a user's second factors (authsite.login.inventory).
LOGIN_FACTOR_INVENTORY = "factors.services.user_factor_summaries"
# A pending login (password checked, later stages not yet passed) expires after this many seconds.
LOGIN_PENDING_TIMEOUT = env_int("LOGIN_PENDING_TIMEOUT", 600, minimum=1)

# Sensitive account changes (factors, recovery codes) need a password or factor check this recent.
REAUTH_WINDOW_SECONDS = env_int("REAUTH_WINDOW_SECONDS", 600, minimum=60)
# Who has a second factor must also pass one of their strongest factors (NIST SP 800-63B §4.1.2.1).
REAUTH_STEP_UP = "factors.stepup.step_up_url"
# Staff must have a second factor, and the admin needs an OTP-verified session.
MFA_REQUIRED_FOR_STAFF = env_bool("MFA_REQUIRED_FOR_STAFF", True)

# Throttling of the password step (authsite.accounts.throttle); counters live in the cache, so they are
# shared between processes when REDIS_URL is set. No permanent lockout: a window expires.
LOGIN_THROTTLE = {
    "ACCOUNT_MAX_FAILURES": env_int("LOGIN_THROTTLE_ACCOUNT_MAX_FAILURES", 100, minimum=1),
    "IP_MAX_FAILURES": env_int("LOGIN_THROTTLE_IP_MAX_FAILURES", 300, minimum=1),
    "WINDOW_SECONDS": env_int("LOGIN_THROTTLE_WINDOW_SECONDS", 900, minimum=1),
}

# --- Second factors (factors/conf.py documents each) ---------------------------------------------
FACTORS_ENCRYPTION_KEYS = env_list("FACTORS_ENCRYPTION_KEYS", [])
FACTORS_TOTP_ISSUER = os.environ.get("TOTP_ISSUER") or None
FACTORS_SMS_BACKEND = os.environ.get("SMS_BACKEND", "console" if DEBUG else "twilio")
FACTORS_TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
FACTORS_TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "")
FACTORS_TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
FACTORS_TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
FACTORS_TWILIO_TIMEOUT = env_int("TWILIO_TIMEOUT", 10, minimum=1)
if "SMS_ALLOWED_CALLING_CODES" in os.environ:
    FACTORS_SMS_ALLOWED_CALLING_CODES = env_list("SMS_ALLOWED_CALLING_CODES", [])
FACTORS_WEBAUTHN_RP_ID = os.environ.get("WEBAUTHN_RP_ID", "localhost")
# The port the site is served on (`PORT=8001 make run`, gunicorn in the Dockerfile): the default
# WebAuthn origin follows it, as browsers include the port in the origin they sign.
PORT = env_int("PORT", 8000, minimum=1, maximum=65535)
FACTORS_WEBAUTHN_ORIGINS = env_list("WEBAUTHN_ORIGINS", [f"http://localhost:{PORT}"])

# --- Risk engine (risk/conf.py documents each) -----------------------------------------------------
RISK_MODE = os.environ.get("RISK_MODE", "adaptive")
RISK_GEOIP_CITY_DB = os.environ.get("GEOIP_CITY_DB") or None
RISK_GEOIP_ASN_DB = os.environ.get("GEOIP_ASN_DB") or None
RISK_IP_REPUTATION_FILES = env_list("RISK_IP_REPUTATION_FILES", [])
RISK_TRUSTED_DEVICE_DAYS = env_int("RISK_TRUSTED_DEVICE_DAYS", 30, minimum=1, maximum=3650)
RISK_FIRST_LOGIN_GRACE_HOURS = env_int("RISK_FIRST_LOGIN_GRACE_HOURS", 24, maximum=24 * 365)
# "adaptive" (hand-written, default), "learned" (the trained model of risk/learned.py) or a dotted path.
RISK_POLICY = os.environ.get("RISK_POLICY", "adaptive")
RISK_MODEL_FILE = os.environ.get("RISK_MODEL_FILE") or None
# Share of completed sign-ins the self-calibrating CHALLENGE threshold aims to challenge
# (docs/risk-model.md); the system check risk.E004 refuses anything but a share in (0, 1).
RISK_TARGET_CHALLENGE_RATE = os.environ.get("RISK_TARGET_CHALLENGE_RATE", "").strip() or 0.03

# --- Sessions -----------------------------------------------------------------------------------
# Database sessions that record their user, address and browser, so people can see and end their
# own sessions on the Security page (authsite.accounts.sessions).
SESSION_ENGINE = "authsite.accounts.sessions"
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_TIMEOUT", 30 * 60, minimum=60)
SESSION_ABSOLUTE_TIMEOUT = env_int("SESSION_ABSOLUTE_TIMEOUT", 12 * 60 * 60, minimum=60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
ACCOUNT_ACTIVATION_TIMEOUT = env_int("ACCOUNT_ACTIVATION_TIMEOUT", 3 * 24 * 60 * 60, minimum=3600)

# --- HTTP security ------------------------------------------------------------------------------
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

if TRUSTED_PROXY_COUNT:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # The __Host- prefix binds a cookie to this exact host, over HTTPS, for path "/".
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"

# --- Email (Django 6.1 MAILERS) -----------------------------------------------------------------
MAIL_BACKEND = os.environ.get("MAIL_BACKEND", "console" if DEBUG else "smtp")
_MAIL_BACKENDS = {
    "console": "django.core.mail.backends.console.EmailBackend",
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "locmem": "django.core.mail.backends.locmem.EmailBackend",
}
if MAIL_BACKEND not in _MAIL_BACKENDS:
    raise ImproperlyConfigured(
        f"MAIL_BACKEND must be one of {', '.join(sorted(_MAIL_BACKENDS))}, not {MAIL_BACKEND!r}."
    )
MAILERS = {"default": {"BACKEND": _MAIL_BACKENDS[MAIL_BACKEND], "OPTIONS": {}}}
if MAIL_BACKEND == "smtp":
    MAILERS["default"]["OPTIONS"] = {
        "host": os.environ.get("SMTP_HOST", "localhost"),
        "port": env_int("SMTP_PORT", 587, minimum=1, maximum=65535),
        "username": os.environ.get("SMTP_USER", ""),
        "password": os.environ.get("SMTP_PASSWORD", ""),
        "use_tls": env_bool("SMTP_STARTTLS", True),
        "timeout": env_int("SMTP_TIMEOUT", 10, minimum=1),
    }
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Adaptive MFA <no-reply@localhost>")
SITE_NAME = os.environ.get("SITE_NAME", "Adaptive MFA")


def _development_site_url() -> str:
    """The address of ``manage.py runserver [addr:]port`` on localhost (default port: ``PORT``)."""
    port = str(PORT)
    if len(sys.argv) > 2 and sys.argv[1] == "runserver" and not sys.argv[2].startswith("-"):
        port = sys.argv[2].rsplit(":", 1)[-1] or port
    return f"http://localhost:{port}"


# The site's public address (scheme://host[:port]): every link in an email starts with it, never
# with the request's Host header, which the client chooses. Required in production (system check).
SITE_URL = os.environ.get("SITE_URL", "").strip() or (_development_site_url() if DEBUG else "")

# --- OpenID Connect provider (authsite.oidc; README, "Protect your app") --------------------------
# Comma-separated signing keys, each a base64-encoded PEM (`manage.py oidc_keys generate`); the first
# signs, all are published. Empty in debug: a development key is made in OIDC_DEV_KEY_FILE.
OIDC_SIGNING_KEYS: list[str] = env_list("OIDC_SIGNING_KEYS", [])
OIDC_DEV_KEY_FILE = os.environ.get("OIDC_DEV_KEY_FILE", "").strip() or str(BASE_DIR / ".oidc-dev-key")
OIDC_JWKS_MAX_AGE = env_int("OIDC_JWKS_MAX_AGE", 3600, minimum=0)
OIDC_BACKCHANNEL_TIMEOUT = env_int("OIDC_BACKCHANNEL_TIMEOUT", 5, minimum=1)
OIDC_TOKEN_THROTTLE = {
    "ip": env_int("OIDC_TOKEN_THROTTLE_IP", 100, minimum=1),
    "client": env_int("OIDC_TOKEN_THROTTLE_CLIENT", 50, minimum=1),
    "window": env_int("OIDC_TOKEN_THROTTLE_WINDOW", 900, minimum=1),
}
OAUTH2_PROVIDER_APPLICATION_MODEL = "oidc.Client"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
OAUTH2_PROVIDER_DEVICE_GRANT_MODEL = "oauth2_provider.DeviceGrant"
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_ISS_ENDPOINT": SITE_URL,
    "OAUTH2_VALIDATOR_CLASS": "authsite.oidc.validators.Validator",
    "SCOPES_BACKEND_CLASS": "authsite.oidc.scopes.ClientScopes",
    "APPLICATION_ADMIN_CLASS": "authsite.oidc.admin.ClientAdmin",
    "CLIENT_SECRET_HASHER": "oidc_client_secret",
    "SCOPES": {"openid": "Sign you in", "email": "Your email address"},
    "DEFAULT_SCOPES": ["openid"],
    "PKCE_REQUIRED": True,
    "OIDC_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_RESPONSE_TYPES_SUPPORTED": ["code"],
    "OAUTH2_GRANT_TYPES_SUPPORTED": ["authorization_code", "refresh_token"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"] if DEBUG else ["https"],
    "AUTHORIZATION_CODE_EXPIRE_SECONDS": 60,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("OIDC_ACCESS_TOKEN_SECONDS", 3600, minimum=60),
    "ID_TOKEN_EXPIRE_SECONDS": env_int("OIDC_ID_TOKEN_SECONDS", 600, minimum=60),
    "REFRESH_TOKEN_EXPIRE_SECONDS": env_int("OIDC_REFRESH_TOKEN_SECONDS", 30 * 86400, minimum=60),
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "OIDC_RP_INITIATED_LOGOUT_ENABLED": True,
    "OIDC_RP_INITIATED_LOGOUT_ALWAYS_PROMPT": False,
    "OIDC_RP_INITIATED_LOGOUT_STRICT_REDIRECT_URIS": True,
    "OIDC_RP_INITIATED_LOGOUT_ACCEPT_EXPIRED_TOKENS": False,
    "COMPLIANT_BCP_RFC9700_IMPLICIT_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PASSWORD_GRANT": True,
    "COMPLIANT_BCP_RFC9700_PKCE_METHOD": True,
    "COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT": True,
    "COMPLIANT_BCP_RFC9700_AUTHZ_RESPONSE_ISS": True,
    "COMPLIANT_BCP_RFC9700_TOKEN_STORAGE": True,
    "COMPLIANT_BCP_RFC9700_REFRESH_TOKEN": True,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_SCHEME": not DEBUG,
    "COMPLIANT_BCP_RFC9700_REDIRECT_URI_MATCHING": True,
    "COMPLIANT_BCP_RFC9700_PKCE_REQUIRED": True,
}

# Caps on account emails (sign-up, activation, "you already have an account", password reset)
# per destination address and per client IP (an IPv6 client by its /64), per hour (authsite.accounts.caps).
ACCOUNT_EMAIL_CAPS = {
    "address": {"hour": env_int("ACCOUNT_EMAIL_CAP_PER_ADDRESS", 5, minimum=1)},
    "ip": {"hour": env_int("ACCOUNT_EMAIL_CAP_PER_IP", 20, minimum=1)},
}

# --- Background tasks (django.tasks) ------------------------------------------------------------
# "immediate" runs a task inside the request (development, tests); "database" queues it in the
# database for `python manage.py db_worker` (production: failed sends are retried there).
TASKS_BACKEND = os.environ.get("TASKS_BACKEND", "immediate")
_TASK_BACKENDS = {
    "immediate": "django.tasks.backends.immediate.ImmediateBackend",
    "database": "django_tasks_db.DatabaseBackend",
}
if TASKS_BACKEND not in _TASK_BACKENDS:
    raise ImproperlyConfigured(f"TASKS_BACKEND must be immediate or database, not {TASKS_BACKEND!r}.")
TASKS = {"default": {"BACKEND": _TASK_BACKENDS[TASKS_BACKEND]}}
# Attempts of one notification email before it is given up (and logged as lost).
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 5, minimum=1)

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedStaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Development serves static files from the finders; no collectstatic step is needed.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG
if DEBUG:
    warnings.filterwarnings("ignore", message="No directory at", module="whitenoise.base")

# --- Languages ------------------------------------------------------------------------------------
# The browser's Accept-Language picks one (LocaleMiddleware), the menu on every page changes it
# (a cookie, and the account's stored language when signed in), and emails and texts sent later
# use the account's language (authsite.accounts.language). Dates and numbers follow the locale.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("nb", "Norsk bokmål"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["authsite.core.formats"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
LANGUAGE_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_HTTPONLY = True
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Logs as an event stream (twelve-factor "XI. Logs") ------------------------------------------
LOG_LEVEL = os.environ.get("LOG_LEVEL", "").strip().upper() or "INFO"
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(f"LOG_LEVEL must be one of {', '.join(_LOG_LEVELS)}, not {LOG_LEVEL!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "authsite.core.logging.JsonFormatter"}},
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "json",
        }
    },
    "root": {"handlers": ["stdout"], "level": "WARNING"},
    "loggers": {
        "authsite": {"level": LOG_LEVEL},
        "factors": {"level": LOG_LEVEL},
        "risk": {"level": LOG_LEVEL},
        "oauth2_provider": {"level": "WARNING"},
        "django": {"level": "WARNING"},
    },
}

TEST_RUNNER = "tests.runner.TestRunner"
