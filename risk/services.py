"""Services for the login flow: the engine wired to the site's database and cache.

The flow builds a context (``risk.context.context_from_parts``, fed by its trusted-proxy client IP,
GeoIP lookup and device cookie), then:

- ``login_assess(context=...)`` before deciding on a second factor,
- ``login_succeeded(context=...)`` once the sign-in is complete (learns it),
- ``login_failed(user_id=..., ip=..., at=...)`` after a wrong password or a failed challenge,
- ``login_disowned(event=...)`` when the user reports a sign-in as not theirs.
"""

from __future__ import annotations

from datetime import datetime

from risk.calibration import SiteThresholds
from risk.policy import Assessment, assess, learn
from risk.store import DatabaseCountStore
from risk.velocity import CacheVelocityStore


def login_assess(*, context) -> Assessment:
    """Assess a sign-in against the stored history (fails closed, see ``risk.policy.assess``)."""
    return assess(context, DatabaseCountStore(), CacheVelocityStore(), thresholds=SiteThresholds())


def login_succeeded(*, context) -> None:
    """Learn a completed sign-in into the user's profile and reset their failure count."""
    learn(context, DatabaseCountStore(), CacheVelocityStore())


def login_failed(*, user_id, ip: str, at: datetime) -> None:
    """Count a failed attempt for the velocity signals."""
    CacheVelocityStore().record_failure(user_id, ip, at)


def login_disowned(*, event) -> int:
    """Forget what a sign-in its owner says was not them taught their profile.

    Its device cookie, IP address and user-agent string count as new again, so that browser is
    judged like a stranger's (the second factor is asked again) instead of a known device. The
    coarser levels (network, country, browser version) stay: they are shared with the owner's own
    sign-ins, and forgetting them would make the owner's next sign-in look foreign. Return how many
    stored values were dropped.
    """
    from risk.model import DEVICE_LEVEL

    keys = [("ip", event.ip), ("ua", event.user_agent), (DEVICE_LEVEL, event.device_key)]
    return DatabaseCountStore.forget(event.user_id, [(level, value) for level, value in keys if value])
