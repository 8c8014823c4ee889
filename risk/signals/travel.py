"""Impossible travel between the last successful sign-in and this attempt.

GeoIP positions are coarse, so both accuracy radii are subtracted from the distance and short
distances (RISK_TRAVEL_FLOOR_KM, 50 km) are ignored. Speeds above RISK_IMPOSSIBLE_TRAVEL_KMH
(1,000 km/h, faster than a airliner's average over a trip) ask for a factor; they never block:
VPNs and mobile gateways move people on the map.
"""

from __future__ import annotations

import math

from django.utils.translation import gettext_lazy as _

from risk import conf
from risk.decision import Decision
from risk.model import IP_LEVELS
from risk.signals import Signal, SignalResult

EARTH_RADIUS_KM = 6371.0088


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def travel_speed_kmh(ctx, profile) -> float | None:
    """Return the apparent speed since the last successful sign-in, or None when unknown/small."""
    if not ctx.has_location or profile.last_latitude is None or profile.last_success_at is None:
        return None
    distance = haversine_km(profile.last_latitude, profile.last_longitude, ctx.geo.latitude, ctx.geo.longitude)
    distance -= (profile.last_accuracy_km or 0.0) + (ctx.geo.accuracy_radius_km or 0.0)
    if distance < conf.current().travel_floor_km:
        return None
    hours = (ctx.timestamp - profile.last_success_at).total_seconds() / 3600.0
    # Two sign-ins in the same minute from far apart: treat as one minute, not infinity.
    return distance / max(hours, 1 / 60)


class ImpossibleTravelSignal(Signal):
    """The user would have had to travel faster than an airliner, on a network new to them.

    A network the user has signed in from before is not checked: mobile carriers route roaming
    traffic home and a user's own VPN jumps between exits, so speeds there say little.
    """

    code = "impossible_travel"
    weight = 2.5

    def evaluate(self, ctx, snap, velocity):
        if ctx.network is not None and snap.user.get((IP_LEVELS[1], ctx.network), 0):
            return None
        speed = travel_speed_kmh(ctx, snap.profile)
        if speed is None or speed <= conf.current().travel_kmh:
            return None
        return SignalResult(
            self.code,
            self.weight,
            _("This sign-in is too far from your last one for the time between them"),
            floor=Decision.CHALLENGE,
        )
