"""Throttling of the token endpoint: failed client authentications and code exchanges, per
client ID and per client IP (an IPv6 client by its /64), counted in the shared cache.

A window starts at the first failure and expires ``OIDC_TOKEN_THROTTLE["window"]`` seconds later.
When the cache cannot be read the endpoint answers 503: no exchange is checked unthrottled.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass
from urllib.parse import unquote_plus

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from authsite.core.clientip import ip_rate_key

logger = logging.getLogger("authsite.oidc")


@dataclass(frozen=True)
class Refusal:
    status: int
    error: str
    description: str
    reason: str
    retry_after: int = 0


def client_id_of(request: HttpRequest) -> str:
    """Return the client ID a token request names (HTTP Basic or the form body), or ""."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Basic "):
        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return ""
        return unquote_plus(decoded.split(":", 1)[0])[:255]
    return request.POST.get("client_id", "")[:255]


def _keys(*, ip: str, client_id: str) -> list[str]:
    digest = hashlib.sha256(client_id.encode("utf-8", "surrogatepass")).hexdigest()
    return [f"oidc:token:fail:ip:{ip_rate_key(ip)}", f"oidc:token:fail:client:{digest}"]


def check(*, ip: str, client_id: str) -> Refusal | None:
    """Return why a token request must be refused now, or None when it may be checked."""
    conf = settings.OIDC_TOKEN_THROTTLE
    ip_key, client_key = _keys(ip=ip, client_id=client_id)
    try:
        counts = cache.get_many([ip_key, client_key])
    except Exception:
        logger.warning("token throttle counters unavailable", exc_info=True)
        return Refusal(503, "temporarily_unavailable", "Please try again shortly.", "unavailable", 30)
    if counts.get(ip_key, 0) >= conf["ip"] or counts.get(client_key, 0) >= conf["client"]:
        return Refusal(
            429, "invalid_request", "Too many failed attempts; try again later.", "throttled", conf["window"]
        )
    return None


def record_failure(*, ip: str, client_id: str) -> None:
    """Count one failed token request against the client IP and the client ID."""
    window = settings.OIDC_TOKEN_THROTTLE["window"]
    for key in _keys(ip=ip, client_id=client_id):
        try:
            if cache.add(key, 1, timeout=window):
                continue
            cache.incr(key)
        except ValueError:
            cache.add(key, 1, timeout=window)
        except Exception:
            logger.warning("token throttle counter not written", exc_info=True)
