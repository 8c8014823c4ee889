"""Self-calibrating thresholds on the site: computed from stored login events, kept in the database.

``calibration_apply`` (run by ``manage.py risk_calibrate --apply`` on a schedule) reads the
completed sign-ins of the last ``WINDOW_DAYS`` from :class:`risk.models.LoginEvent`, computes each
band's CHALLENGE threshold with :mod:`risk.thresholds` and stores one
:class:`risk.models.ChallengeThreshold` row per band. ``site_thresholds`` gives the sign-in the
newest row of each band; each process reads them at most every ``REFRESH_SECONDS`` (60), so one
assessment costs no extra query. docs/risk-model.md, "Self-calibrating thresholds".
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta

from django.db import transaction

from authsite.core import clock
from risk import conf
from risk.models import ChallengeThreshold, LoginEvent
from risk.thresholds import (
    BandThreshold,
    CalibrationSettings,
    ScoreCounts,
    ThresholdTable,
    band_threshold,
    calibration_settings,
)

_lock = threading.Lock()
_cached: tuple[float, ThresholdTable] | None = None


def thresholds_in_force() -> dict[int, ChallengeThreshold]:
    """Return the newest stored row of each band, keyed by the band's lower bound."""
    latest: dict[int, ChallengeThreshold] = {}
    for row in ChallengeThreshold.objects.order_by("-computed_at", "band_min")[:200]:
        latest.setdefault(row.band_min, row)
    return latest


def _load_table() -> ThresholdTable:
    cfg = calibration_settings()
    rows = thresholds_in_force()
    challenge = {}
    for i, low in enumerate(cfg.bands):
        row = rows.get(low)
        if row is not None and row.calibrated:
            # Bounds are applied again at read time: settings may have tightened since the run.
            challenge[i] = min(max(row.challenge, cfg.floor), cfg.ceiling)
    return ThresholdTable(conf.thresholds(), cfg.bands, challenge)


def site_thresholds() -> ThresholdTable:
    """Return the thresholds per band in force on the site (cached per process for REFRESH_SECONDS)."""
    global _cached  # noqa: PLW0603  (one table per process)
    refresh = float(conf.calibration()["REFRESH_SECONDS"])
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < refresh:
        return cached[1]
    with _lock:
        _cached = (now, _load_table())
        return _cached[1]


class SiteThresholds:
    """The site's thresholds as ``risk.policy.assess`` asks for them: read inside the assessment,
    so a database failure there fails closed like any other engine error."""

    def for_history(self, n_user: int) -> dict[str, float]:
        """Return the thresholds for a user with ``n_user`` earlier completed sign-ins."""
        return site_thresholds().for_history(n_user)


def clear_site_thresholds_cache() -> None:
    """Forget the cached table; the next sign-in reads the stored thresholds again."""
    global _cached  # noqa: PLW0603
    _cached = None


def completed_sign_in_counts(cfg: CalibrationSettings, *, now: datetime) -> list[ScoreCounts]:
    """Count the scores of the window's completed sign-ins per band.

    Completed means signed in (allowed, or the second step passed): refused, abandoned and
    pending attempts never count, and neither do first sign-ins, engine errors (no score) or
    events stored before the engine recorded the user's earlier sign-ins.
    """
    counts = [ScoreCounts(cfg.floor, cfg.ceiling) for _ in cfg.bands]
    events = LoginEvent.objects.filter(
        outcome=LoginEvent.Outcome.SUCCESS,
        created_at__gte=now - timedelta(days=cfg.window_days),
        created_at__lt=now,
        score__isnull=False,
        earlier_sign_ins__gte=1,
    ).values_list("score", "earlier_sign_ins", "reasons")
    for score, earlier, reasons in events.iterator(chunk_size=2000):
        band = cfg.band_of(earlier)
        if band is None:
            continue
        floored = any(isinstance(r, dict) and r.get("floor") for r in reasons or ())
        counts[band].add(score, floored=floored)
    return counts


def calibration_compute(cfg: CalibrationSettings | None = None, *, now: datetime | None = None) -> list[BandThreshold]:
    """Return each band's threshold from the site's completed sign-ins, without storing it."""
    cfg = cfg or calibration_settings()
    now = now or clock.now()
    in_force = thresholds_in_force()
    results = []
    for i, counts in enumerate(completed_sign_in_counts(cfg, now=now)):
        row = in_force.get(cfg.bands[i])
        previous = row.challenge if row is not None and row.calibrated else None
        results.append(band_threshold(counts, i, cfg, previous=previous))
    return results


def calibration_apply(cfg: CalibrationSettings | None = None, *, now: datetime | None = None) -> list[BandThreshold]:
    """Compute and store each band's threshold (all bands in one transaction); return them."""
    cfg = cfg or calibration_settings()
    now = now or clock.now()
    results = calibration_compute(cfg, now=now)
    rows = [
        ChallengeThreshold(
            computed_at=now,
            band_min=cfg.bands[r.band],
            band_max=cfg.bands[r.band + 1] - 1 if r.band + 1 < len(cfg.bands) else None,
            challenge=r.challenge,
            calibrated=r.calibrated,
            fixed_default=cfg.default,
            target_rate=cfg.target,
            expected_rate=r.expected_rate,
            sign_ins=r.sign_ins,
            floored=r.floored,
            window_days=cfg.window_days,
            limited_by=r.limited_by,
        )
        for r in results
    ]
    with transaction.atomic():
        ChallengeThreshold.objects.bulk_create(rows)
    clear_site_thresholds_cache()
    return results
