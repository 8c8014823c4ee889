"""Challenge thresholds that calibrate themselves to the site (docs/risk-model.md, "Self-calibrating thresholds").

The CHALLENGE threshold is set, per login-frequency band (the number of the user's earlier
completed sign-ins), so that the site's own completed sign-ins would have been challenged at
``RISK_TARGET_CHALLENGE_RATE``. Only completed sign-ins count (allowed, or passed the second
step); never labels. The result is bounded: never below ``FLOOR``, never above ``CEILING``,
``CHALLENGE_STRONG`` or ``DENY``, moved at most ``MAX_STEP`` from the threshold in force per
recomputation, and a band keeps the fixed default until it has ``MIN_SIGN_INS`` sign-ins in the
window. ``DENY``, ``CHALLENGE_STRONG`` and the signals' floors are never calibrated.

The same arithmetic serves the site (``risk_calibrate --apply`` over stored login events) and the
replay (:class:`RollingCalibration`, recomputed once per day of the trace from the replayed
history only). This module imports no model: the database side is :mod:`risk.calibration`.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from dataclasses import dataclass

from risk import conf

# Histogram resolution of the calibration: thresholds are chosen on this grid.
BIN_WIDTH = 0.05


@dataclass(frozen=True, slots=True)
class CalibrationSettings:
    """The calibration's bounds and data needs, resolved from the settings."""

    target: float
    bands: tuple[int, ...]  # lower bounds of the bands, in earlier completed sign-ins
    min_sign_ins: int
    window_days: int
    floor: float
    ceiling: float  # already capped at CHALLENGE_STRONG and DENY
    max_step: float
    default: float  # the fixed CHALLENGE threshold (RISK_THRESHOLDS)

    def band_of(self, n_before: int) -> int | None:
        """Return the index of the band of a user with ``n_before`` earlier sign-ins (None: no band)."""
        i = bisect.bisect_right(self.bands, n_before) - 1
        return i if i >= 0 else None

    def band_label(self, index: int) -> str:
        """Return a band's range in words, e.g. ``10-49`` or ``50+``."""
        low = self.bands[index]
        if index + 1 < len(self.bands):
            return f"{low}-{self.bands[index + 1] - 1}"
        return f"{low}+"


def calibration_settings(**overrides) -> CalibrationSettings:
    """Return the calibration settings in force (``overrides`` replace keys, e.g. ``target``)."""
    raw = conf.calibration()
    thresholds = conf.thresholds()
    values = {
        "target": float(conf.get("RISK_TARGET_CHALLENGE_RATE")),
        "bands": tuple(sorted({int(b) for b in raw["BANDS"]})),
        "min_sign_ins": int(raw["MIN_SIGN_INS"]),
        "window_days": int(raw["WINDOW_DAYS"]),
        "floor": float(raw["FLOOR"]),
        "ceiling": min(float(raw["CEILING"]), thresholds["CHALLENGE_STRONG"], thresholds["DENY"]),
        "max_step": float(raw["MAX_STEP"]),
        "default": thresholds["CHALLENGE"],
    }
    values.update(overrides)
    return CalibrationSettings(**values)


def calibration_problems() -> list[str]:
    """Return what is wrong with RISK_TARGET_CHALLENGE_RATE and RISK_CALIBRATION (empty when usable)."""
    problems = []
    try:
        target = float(conf.get("RISK_TARGET_CHALLENGE_RATE"))
    except (TypeError, ValueError):
        target = math.nan
    if not 0 < target < 1:
        problems.append("RISK_TARGET_CHALLENGE_RATE must be a share in (0, 1), e.g. 0.03")
    try:
        cfg = calibration_settings(target=0.5)
    except (TypeError, ValueError, KeyError):
        return [*problems, "RISK_CALIBRATION values must be numbers (BANDS a list of whole numbers)"]
    if not cfg.bands or cfg.bands[0] < 1:
        problems.append("RISK_CALIBRATION BANDS must list lower bounds of at least 1 earlier sign-in")
    if cfg.min_sign_ins < 1 or cfg.window_days < 1:
        problems.append("RISK_CALIBRATION MIN_SIGN_INS and WINDOW_DAYS must be at least 1")
    if not cfg.floor < cfg.ceiling:
        problems.append(
            f"RISK_CALIBRATION FLOOR ({cfg.floor}) must be below CEILING, CHALLENGE_STRONG and DENY ({cfg.ceiling})"
        )
    if not cfg.max_step > 0:
        problems.append("RISK_CALIBRATION MAX_STEP must be above 0")
    return problems


class ScoreCounts:
    """Scores of completed sign-ins of one band, counted on the calibration grid.

    Scores below ``floor`` and at or above ``ceiling`` land in the two edge counters: the
    threshold never leaves [floor, ceiling], so their exact values do not matter. Sign-ins a
    signal's floor forced to a challenge whatever the score are counted apart (``floored``).
    """

    __slots__ = ("above", "below", "bins", "floor", "floored", "n")

    def __init__(self, floor: float, ceiling: float) -> None:
        self.floor = floor
        self.bins = [0] * max(1, math.ceil((ceiling - floor) / BIN_WIDTH - 1e-9))
        self.below = self.above = self.floored = self.n = 0

    def add(self, score: float, *, floored: bool = False, weight: int = 1) -> None:
        """Count one completed sign-in (``weight`` -1 takes one away)."""
        self.n += weight
        if floored:
            self.floored += weight
            return
        i = math.floor((score - self.floor) / BIN_WIDTH)
        if i < 0:
            self.below += weight
        elif i >= len(self.bins):
            self.above += weight
        else:
            self.bins[i] += weight

    def merge(self, other: ScoreCounts, sign: int = 1) -> None:
        """Add (or with ``sign`` -1 subtract) another histogram on the same grid."""
        bins = self.bins
        for i, c in enumerate(other.bins):
            if c:
                bins[i] += sign * c
        self.below += sign * other.below
        self.above += sign * other.above
        self.floored += sign * other.floored
        self.n += sign * other.n


@dataclass(frozen=True, slots=True)
class BandThreshold:
    """The CHALLENGE threshold computed for one band, and what it rests on."""

    band: int  # index into CalibrationSettings.bands
    challenge: float  # the threshold in force for the band after this computation
    calibrated: bool  # False: not enough sign-ins, the fixed default stays in force
    sign_ins: int
    floored: int
    # Share of the window's completed sign-ins the threshold would have challenged (grid resolution).
    expected_rate: float | None
    limited_by: str = ""  # "floor", "ceiling" or "step" when a bound decided the value


def band_threshold(
    counts: ScoreCounts, band: int, cfg: CalibrationSettings, *, previous: float | None = None
) -> BandThreshold:
    """Return the CHALLENGE threshold that challenges at most ``cfg.target`` of ``counts``.

    The threshold is the lowest grid point at which the sign-ins at or above it, plus those a
    floor challenged anyway, stay within the target share; then it is bounded (floor, ceiling,
    at most ``max_step`` away from ``previous``, the threshold in force, or the fixed default).
    """
    if counts.n < cfg.min_sign_ins or counts.n <= 0:
        return BandThreshold(band, cfg.default, False, counts.n, counts.floored, None)
    allowed = cfg.target * counts.n - counts.floored
    running = counts.above
    value = cfg.floor
    limited = "floor"
    if running > allowed:
        value, limited = cfg.ceiling, "ceiling"
    else:
        for i in range(len(counts.bins) - 1, -1, -1):
            if running + counts.bins[i] > allowed:
                value, limited = cfg.floor + (i + 1) * BIN_WIDTH, ""
                break
            running += counts.bins[i]
    value = min(max(value, cfg.floor), cfg.ceiling)
    start = cfg.default if previous is None else previous
    if abs(value - start) > cfg.max_step:
        value, limited = start + math.copysign(cfg.max_step, value - start), "step"
        value = min(max(value, cfg.floor), cfg.ceiling)
    value = round(value, 4)
    challenged = counts.floored + _at_least(counts, value)
    return BandThreshold(band, value, True, counts.n, counts.floored, challenged / counts.n, limited)


def _at_least(counts: ScoreCounts, threshold: float) -> int:
    """Return how many non-floored scores of ``counts`` are at or above ``threshold`` (grid resolution)."""
    i = math.floor((threshold - counts.floor) / BIN_WIDTH + 1e-9)
    if i >= len(counts.bins):
        return counts.above
    return counts.above + sum(counts.bins[max(i, 0) :]) + (counts.below if i < 0 else 0)


class ThresholdTable:
    """The decision thresholds per band: what ``risk.policy.assess`` reads for one sign-in.

    ``challenge`` maps a band index to its CHALLENGE threshold; a band absent from it uses the
    fixed thresholds. The threshold dicts are built once, so a lookup allocates nothing.
    """

    __slots__ = ("_by_band", "_fixed", "bands")

    def __init__(self, fixed: dict[str, float], bands: tuple[int, ...] = (), challenge: dict | None = None) -> None:
        self._fixed = fixed
        self.bands = bands
        challenge = challenge or {}
        self._by_band = [({**fixed, "CHALLENGE": challenge[i]} if i in challenge else fixed) for i in range(len(bands))]

    def for_history(self, n_user: int) -> dict[str, float]:
        """Return the thresholds for a user with ``n_user`` earlier completed sign-ins."""
        i = bisect.bisect_right(self.bands, n_user) - 1
        return self._by_band[i] if i >= 0 else self._fixed


class RollingCalibration:
    """Self-calibration during a replay: recomputed per day of the trace, from what it replayed.

    ``observe`` is told each completed sign-in (the replay's simulated outcome, never the label);
    ``advance`` is called with each row's time, and on a new day it drops the day that left the
    window and recomputes every band. Memory is one fixed-size histogram per band and day of the
    window, whatever the number of rows.
    """

    def __init__(self, cfg: CalibrationSettings | None = None) -> None:
        self.cfg = cfg or calibration_settings()
        self.fixed = conf.thresholds()
        cfg = self.cfg
        self._window = [ScoreCounts(cfg.floor, cfg.ceiling) for _ in cfg.bands]
        self._days: deque[tuple[int, list[ScoreCounts]]] = deque()
        self._today: list[ScoreCounts] | None = None
        self._day: int | None = None
        self.current: dict[int, float] = {}
        self.table = ThresholdTable(self.fixed, cfg.bands)
        self.history: list[tuple[int, tuple[BandThreshold, ...]]] = []  # (day number, results)

    def for_history(self, n_user: int) -> dict[str, float]:
        """Return the thresholds in force for a user with ``n_user`` earlier completed sign-ins."""
        return self.table.for_history(n_user)

    def advance(self, day: int) -> None:
        """Move to ``day`` (days since the epoch of the trace's clock); recompute on a new day."""
        if day == self._day:
            return
        if self._day is not None and self._today is not None:
            self._days.append((self._day, self._today))
            for window, counts in zip(self._window, self._today, strict=True):
                window.merge(counts)
            self.recompute(day)
        self._day = day
        self._today = [ScoreCounts(self.cfg.floor, self.cfg.ceiling) for _ in self.cfg.bands]

    def observe(self, n_before: int, score: float, *, floored: bool) -> None:
        """Count a completed sign-in of a user with ``n_before`` earlier ones (scored today)."""
        band = self.cfg.band_of(n_before)
        if band is None or self._today is None or not math.isfinite(score):
            return
        self._today[band].add(score, floored=floored)  # joins the window when the day ends

    def recompute(self, day: int) -> None:
        """Drop days that left the window before ``day`` and set each band's threshold."""
        while self._days and self._days[0][0] <= day - self.cfg.window_days - 1:
            _, old = self._days.popleft()
            for window, counts in zip(self._window, old, strict=True):
                window.merge(counts, -1)
        results = tuple(
            band_threshold(window, i, self.cfg, previous=self.current.get(i)) for i, window in enumerate(self._window)
        )
        self.current = {r.band: r.challenge for r in results if r.calibrated}
        self.table = ThresholdTable(self.fixed, self.cfg.bands, self.current)
        self.history.append((day, results))
