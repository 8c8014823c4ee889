"""Builders of contexts and histories for the risk tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from risk.context import context_from_parts
from risk.geo import GeoResult

T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
    "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
OSLO = {"country": "NO", "city": "Oslo", "latitude": 59.91, "longitude": 10.75}
SYDNEY = {"country": "AU", "city": "Sydney", "latitude": -33.87, "longitude": 151.21}


def ctx(
    user_id=1,
    *,
    ip="192.0.2.10",
    ua=CHROME,
    at=T0,
    asn=64500,
    geo=None,
    minutes=0,
    device_id=None,
    trusted=False,
    reputation=False,
    **geo_fields,
):
    """Return a LoginContext with sensible defaults (Oslo, home ISP AS64500, Chrome)."""
    fields = dict(OSLO if geo is None else geo)
    fields.update(geo_fields)
    return context_from_parts(
        user_id=user_id,
        ip=ip,
        user_agent=ua,
        timestamp=at + timedelta(minutes=minutes),
        geo=GeoResult(asn=asn, **fields),
        device_id=device_id,
        trusted_device=trusted,
        ip_reputation_hit=reputation,
    )


def history(store, user_id=1, n=10, start=T0, **kwargs):
    """Learn ``n`` daily sign-ins of one user into ``store``; return the time after the last."""
    from risk.policy import learn

    for i in range(n):
        learn(ctx(user_id, at=start + timedelta(days=i), **kwargs), store)
    return start + timedelta(days=n)
