"""The statistical score of Freeman et al. (NDSS 2016), computed from counts only, in log space.

    S_u(x) = p(u|A) / p(u|L) * PRODUCT_k p(x_k|A) / p(x_k|u,L)

- p(u|A) = 1/|U| (no per-user attack data), p(u|L) = n_u / N.
- p(x_k|A) is approximated by the smoothed global frequency of x_k, p(x_k|u,L) by the frequency
  in the user's history. Each feature is a hierarchy whose levels are mixed with weights mu_h:
  IP -> network (ASN) -> country (0.6/0.3/0.1) and UA string -> browser+version -> OS+version ->
  device type (0.5387/0.2680/0.1882/0.0051).
- Global smoothing at level h with count c among N entries: p = c/(N+M) when seen, 1/(N+M)
  when unseen, where M = (distinct values of the coarser levels) + 1. "Coarser levels" is read as
  the sum over every level coarser than h, so M = 1 at the coarsest level.
- A value unseen at every level of the user's history has no finite ratio; as in the reference
  implementation its ratio is a fixed factor (RISK_UNSEEN_FACTOR, 4).
- A level whose value is missing (no GeoIP, no UA) is left out and the weights of the remaining
  levels are renormalised; a hierarchy with no value at all is left out of the product.

Everything comes from a :class:`CountsSnapshot`, so the cost does not grow with history.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

IP_LEVELS = ("ip", "net", "cc")
IP_WEIGHTS = (0.6, 0.3, 0.1)
UA_LEVELS = ("ua", "bv", "osv", "dev")
UA_WEIGHTS = (0.5387, 0.2680, 0.1882, 0.0051)
HIERARCHIES = (("ip", IP_LEVELS, IP_WEIGHTS), ("ua", UA_LEVELS, UA_WEIGHTS))
# Round-trip time (Wiefling et al., FC 2021), used like the IP: fine -> coarse bucket. RTT_COUNT
# counts the user's sign-ins that carried the feature (a measured or an unknown "?" value), the
# denominator of its per-user frequency: history learned before the feature existed has none.
RTT_LEVELS = ("rtt", "rttc")
RTT_WEIGHTS = (0.7, 0.3)
RTT_COUNT = ("rttn", "all")
# The page's script reports the time, so a forger who guessed the owner's bucket could lower the
# score with it: the feature only ever raises the score (a usual time adds 0, an unusual one up to
# ln RISK_UNSEEN_FACTOR). On the simulated trace this also kept more targeted attackers caught
# than letting a usual time lower the score (docs/risk-model.md, "Round-trip time").
RTT_MIN_LOG_RATIO = 0.0
LEVELS = IP_LEVELS + UA_LEVELS + RTT_LEVELS
DEVICE_LEVEL = "device"  # counted per user only; never global


@dataclass(slots=True)
class UserProfile:
    """Aggregates of a user's successful sign-ins used by the rule signals."""

    n_success: int = 0
    n_with_device: int = 0  # successful sign-ins that carried a device id
    last_success_at: object = None  # aware datetime
    last_latitude: float | None = None
    last_longitude: float | None = None
    last_accuracy_km: float | None = None
    last_country: str | None = None


@dataclass(slots=True)
class CountsSnapshot:
    """The counts needed to score one context: only for the values in that context."""

    n_user: int  # the user's learned (successful) sign-ins
    user: dict  # (level, value) -> the user's count
    glob: dict  # (level, value) -> global count
    totals: dict  # level -> global number of entries
    distinct: dict  # level -> global number of distinct values
    n_total: int  # all learned sign-ins
    n_users: int  # users with at least one learned sign-in
    profile: UserProfile = field(default_factory=UserProfile)
    # The decision thresholds in force for this user's band (risk.thresholds), or None for the
    # fixed RISK_THRESHOLDS; set by risk.policy.assess, not by the stores.
    thresholds: dict | None = None

    def user_count(self, level: str, value: str | None) -> int:
        """Return the user's count of ``value`` at ``level`` (0 when unseen or None)."""
        if value is None:
            return 0
        return self.user.get((level, value), 0)


class FeatureScore(NamedTuple):
    """One hierarchy's contribution: ln p(x|A) - ln p(x|u,L).

    A named tuple rather than a dataclass: two are built per scored sign-in.
    """

    log_ratio: float
    p_attack: float
    p_user: float
    unseen: bool  # unseen at every level of the user's history


class ModelScore(NamedTuple):
    """The natural log of S_u(x) and its parts."""

    log_score: float
    log_user_ratio: float  # ln p(u|A) - ln p(u|L)
    features: dict


def feature_keys(levels: tuple[str, ...], values: tuple) -> list[tuple[str, str]]:
    """Return the (level, value) keys of the present values."""
    return [(lv, v) for lv, v in zip(levels, values, strict=True) if v is not None]


def context_keys(ctx) -> list[tuple[str, str]]:
    """Return every (level, value) key of a context that the model counts (no device)."""
    rtt, rttc = ctx.rtt_levels
    keys = [*feature_keys(IP_LEVELS, ctx.ip_levels), *feature_keys(UA_LEVELS, ctx.ua_levels)]
    if rtt is not None:
        keys += [(RTT_LEVELS[0], rtt), (RTT_LEVELS[1], rttc), RTT_COUNT]
    return keys


def score_hierarchy(
    levels: tuple[str, ...],
    weights: tuple[float, ...],
    values: tuple,
    snap: CountsSnapshot,
    unseen_factor: float,
    *,
    n_user: int | None = None,
) -> FeatureScore | None:
    """Score one feature hierarchy; None when no level has a value.

    ``n_user`` is the number of the user's sign-ins the hierarchy was learned from (default: all).
    """
    user_get, glob_get = snap.user.get, snap.glob.get
    totals_get, distinct_get = snap.totals.get, snap.distinct.get
    wsum = p_a = p_u = 0.0
    coarser = 0  # distinct values of the coarser (present) levels
    # From the coarsest level to the finest, so that M can be accumulated on the way.
    for i in range(len(levels) - 1, -1, -1):
        value = values[i]
        if value is None:
            continue
        level, w = levels[i], weights[i]
        wsum += w
        key = (level, value)
        p_a += w * (glob_get(key, 0) or 1) / (totals_get(level, 0) + coarser + 1)
        c_u = user_get(key, 0)
        if c_u:
            p_u += w * c_u
        coarser += distinct_get(level, 0)
    if wsum == 0.0:
        return None
    p_a /= wsum
    n = snap.n_user if n_user is None else n_user
    if p_u == 0.0 or n <= 0:
        return FeatureScore(math.log(unseen_factor), p_a, 0.0, True)
    p_u /= wsum * n
    return FeatureScore(math.log(p_a) - math.log(p_u), p_a, p_u, False)


def freeman_score(ctx, snap: CountsSnapshot, *, unseen_factor: float = 4.0) -> ModelScore:
    """Return ln S_u(x) for a context with history (``snap.n_user`` > 0)."""
    if snap.n_user <= 0 or snap.n_total <= 0:
        raise ValueError("a user without history cannot be scored")
    log_user = -math.log(max(snap.n_users, 1)) - (math.log(snap.n_user) - math.log(snap.n_total))
    total = log_user
    features = {}
    for name, levels, weights in HIERARCHIES:
        values = ctx.ip_levels if name == "ip" else ctx.ua_levels
        fs = score_hierarchy(levels, weights, values, snap, unseen_factor)
        if fs is not None:
            features[name] = fs
            total += fs.log_ratio
    # Round-trip time, only once the user's history has it (sign-ins learned before the feature
    # existed say nothing either way); its per-user frequency is over those sign-ins.
    n_rtt = snap.user.get(RTT_COUNT, 0)
    levels = ctx.rtt_levels
    if n_rtt > 0 and levels[0] is not None:
        if RTT_MIN_LOG_RATIO >= 0.0 and snap.user.get((RTT_LEVELS[0], levels[0]), 0) == n_rtt:
            # Every sign-in of the user that carried the feature had this very bucket: p(x|u,L) is 1
            # at both levels, no global frequency is above it, and the bound makes the term 0.
            fs = FeatureScore(RTT_MIN_LOG_RATIO, math.nan, 1.0, False)  # p(x|A) not computed
        else:
            fs = score_hierarchy(RTT_LEVELS, RTT_WEIGHTS, levels, snap, unseen_factor, n_user=n_rtt)
            if fs.log_ratio < RTT_MIN_LOG_RATIO:
                fs = fs._replace(log_ratio=RTT_MIN_LOG_RATIO)
        features["rtt"] = fs
        total += fs.log_ratio
    return ModelScore(total, log_user, features)
