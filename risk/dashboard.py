"""The risk dashboard of the admin: sign-in aggregates over the last days, drawn as inline SVG.

The figures come from a few grouped queries (``dashboard_data``); the charts are built here as
SVG markup with presentation attributes only (no script, no style attribute, no external request),
each with a <title> and <desc>, and the page shows the same numbers as tables.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, F, FloatField, Max, Min, Q, Value
from django.db.models.functions import Floor, Least, TruncDate
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, gettext_lazy, ngettext

from authsite.core import clock
from authsite.core.parsing import parse_id
from risk.models import LoginEvent
from risk.policy import reason_raises_risk

DEFAULT_DAYS = 30
MAX_DAYS = 365
DECISIONS = ("allow", "challenge", "challenge_strong", "deny")
DECISION_LABELS = {
    "allow": gettext_lazy("Allowed"),
    "challenge": gettext_lazy("Challenged"),
    "challenge_strong": gettext_lazy("Strong challenge"),
    "deny": gettext_lazy("Refused"),
}
# Colour-blind-safe (Okabe-Ito, with purple for refusals so they show on the dark theme too).
DECISION_COLOURS = {"allow": "#009E73", "challenge": "#E69F00", "challenge_strong": "#D55E00", "deny": "#6A3D9A"}
ACCENT = "#0072B2"
# Text takes the page's colour, so the charts read in the admin's light and dark themes.
INK = "currentColor"
GRID = "#DDDDDD"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
SCORE_BINS = 12
TOP_REASONS = 10
TOP_COUNTRIES = 12


def parse_days(raw: str | None) -> int:
    """Return the number of days asked for, or the default for anything that is not 1..MAX_DAYS."""
    days = parse_id(str(raw or "").strip(), max_digits=3)
    return days if days is not None and 1 <= days <= MAX_DAYS else DEFAULT_DAYS


@dataclass
class DashboardData:
    days: int
    start: date
    dates: list[date]
    per_day: dict[date, dict[str, int]]
    total: int
    reasons: list[tuple[str, int]]  # (code, sign-ins) of the reasons that raised the risk
    countries: list[tuple[str, int]]
    score_bins: list[tuple[float, float, int]]
    engine_errors: int
    by_decision: dict[str, int] = field(default_factory=dict)
    lowered: list[tuple[str, int]] = field(default_factory=list)  # the same for reasons that lowered it
    reason_texts: dict[str, str] = field(default_factory=dict)  # code -> the plain words users were shown
    apps: list[tuple[str, int]] = field(default_factory=list)  # (application, sign-ins); "" is this site

    def reason_label(self, code: str) -> str:
        """Return the words of a reason code; with the code too when another code has the same words."""
        text = gettext(self.reason_texts[code]) if self.reason_texts.get(code) else code
        if text != code and sum(1 for t in self.reason_texts.values() if t == text) > 1:
            return f"{text} ({code})"
        return text

    @property
    def reason_rows(self) -> list[tuple[str, str, int]]:
        """Return (label, code, sign-ins) of the reasons that raised the risk."""
        return [(self.reason_label(code), code, n) for code, n in self.reasons]

    @property
    def lowered_rows(self) -> list[tuple[str, str, int]]:
        """Return (label, code, sign-ins) of the reasons that lowered the risk."""
        return [(self.reason_label(code), code, n) for code, n in self.lowered]

    def day_total(self, day: date) -> int:
        return sum(self.per_day[day].values())

    def challenge_rate(self, day: date) -> float | None:
        total = self.day_total(day)
        if not total:
            return None
        return sum(v for k, v in self.per_day[day].items() if k != "allow") / total


def dashboard_data(*, days: int = DEFAULT_DAYS) -> DashboardData:
    """Aggregate the sign-ins of the last ``days`` days (today included, UTC).

    Six queries: per day and decision, per country, per application signed in to (OpenID Connect
    clients; "" for this site itself), the score range, the score bins, and the
    reasons lists of the events that have reasons (counted here: JSON array expansion differs
    between PostgreSQL and SQLite, and only challenged sign-ins carry reasons). Reasons that raised
    the risk and reasons that lowered it (a known or remembered device) are counted apart.
    """
    now = timezone.localtime(clock.now())
    start = now.date() - timedelta(days=days - 1)
    # A bound on the column itself (not on its date), so the index on created_at serves it.
    since = timezone.make_aware(datetime.combine(start, time.min), now.tzinfo)
    events = LoginEvent.objects.filter(created_at__gte=since).order_by()
    dates = [start + timedelta(days=i) for i in range(days)]
    per_day: dict[date, dict[str, int]] = {d: dict.fromkeys(DECISIONS, 0) for d in dates}
    by_decision: Counter[str] = Counter()
    for row in events.annotate(day=TruncDate("created_at")).values("day", "decision").annotate(n=Count("id")):
        if row["day"] in per_day:
            per_day[row["day"]][row["decision"]] = per_day[row["day"]].get(row["decision"], 0) + row["n"]
            by_decision[row["decision"]] += row["n"]
    countries = [
        (row["country"] or "unknown", row["n"])
        for row in events.values("country").annotate(n=Count("id")).order_by("-n", "country")[:TOP_COUNTRIES]
    ]
    apps = [
        (row["app"], row["n"])
        for row in events.values("app").annotate(n=Count("id")).order_by("-n", "app")[:TOP_COUNTRIES]
    ]
    score_bins, engine_errors = _score_histogram(events)
    reasons: Counter[str] = Counter()
    lowered: Counter[str] = Counter()
    texts: dict[str, str] = {}
    for rs in events.exclude(reasons=[]).values_list("reasons", flat=True):
        raised_here, lowered_here = set(), set()
        for r in rs or ():
            if not isinstance(r, dict) or not isinstance(r.get("code"), str) or not r["code"]:
                continue
            if isinstance(r.get("text"), str) and r["text"]:
                texts.setdefault(r["code"], r["text"])
            if reason_raises_risk(r.get("weight"), r.get("floor")):
                raised_here.add(r["code"])
            else:
                lowered_here.add(r["code"])
        reasons.update(raised_here)
        lowered.update(lowered_here)
    return DashboardData(
        days=days,
        start=start,
        dates=dates,
        per_day=per_day,
        total=sum(by_decision.values()),
        reasons=reasons.most_common(TOP_REASONS),
        lowered=lowered.most_common(TOP_REASONS),
        reason_texts=texts,
        countries=countries,
        score_bins=score_bins,
        engine_errors=engine_errors,
        by_decision={d: by_decision.get(d, 0) for d in DECISIONS},
        apps=apps,
    )


def _score_histogram(events) -> tuple[list[tuple[float, float, int]], int]:
    """Return SCORE_BINS equal-width bins over the scores' range, and how many events have no score.

    Two queries: the range, then the counts grouped by bin number, computed by the database.
    """
    agg = events.aggregate(lo=Min("score"), hi=Max("score"), errors=Count("id", filter=Q(score__isnull=True)))
    lo, hi = agg["lo"], agg["hi"]
    if lo is None:
        return [], agg["errors"]
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    width = (hi - lo) / SCORE_BINS
    bin_number = Least(
        Floor((F("score") - Value(lo)) / Value(width), output_field=FloatField()), Value(SCORE_BINS - 1.0)
    )
    counts = [0] * SCORE_BINS
    rows = events.filter(score__isnull=False).annotate(b=bin_number).values("b").annotate(n=Count("id"))
    for row in rows:
        counts[min(max(int(row["b"]), 0), SCORE_BINS - 1)] += row["n"]
    return [(lo + i * width, lo + (i + 1) * width, n) for i, n in enumerate(counts)], agg["errors"]


# --- SVG ----------------------------------------------------------------------------------------


def _nice_step(raw: float) -> tuple[int, int]:
    """Return the smallest step of 1, 2 or 5 times a power of ten that is at least ``raw``.

    The step is given as (mantissa, exponent), step = mantissa * 10**exponent, so that ticks can
    be computed and labelled exactly (no 0.30000000000000004).
    """
    if raw <= 0:
        return 1, 0
    exponent = math.floor(math.log10(raw))
    for mantissa in (1, 2, 5, 10):
        if mantissa * 10.0**exponent >= raw * (1 - 1e-9):
            return (1, exponent + 1) if mantissa == 10 else (mantissa, exponent)
    return 1, exponent + 1  # pragma: no cover  (the loop always returns)


def _count_ticks(vmax: float, most: int = 6) -> list[int]:
    """Integer ticks from 0 to at least ``vmax``: a 1, 2 or 5 step, at most ``most`` intervals.

    Counts have whole-number ticks only, so no label repeats ("0, 2, 5, 8, 10" was 0, 2.5, ...).
    """
    mantissa, exponent = _nice_step(vmax / most)
    step = mantissa * 10**exponent if exponent >= 0 else 1
    return list(range(0, step * max(1, math.ceil(vmax / step)) + 1, step))


def _range_ticks(lo: float, hi: float, most: int = 8) -> tuple[list[float], int]:
    """Ticks at round values inside [lo, hi], at most ``most`` intervals apart, and their decimals.

    The labels show as many decimals as the step needs (none for whole steps, one for 0.5 or 0.2),
    so each label is the exact value at its position and no two are alike.
    """
    mantissa, exponent = _nice_step((hi - lo) / most)
    step, decimals = mantissa * 10.0**exponent, max(0, -exponent)
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    ticks = [round(k * step, decimals) for k in range(first, last + 1)]
    return ticks, decimals


def _tick_label(value: float, decimals: int) -> str:
    label = f"{value:.{decimals}f}"
    return label.removeprefix("-") if float(label) == 0 else label  # never "-0"


def _svg(width: int, height: int, *, title: str, desc: str, body: list[str], ident: str) -> SafeString:
    head = format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="100%" role="img" '
        'aria-labelledby="{i}-t {i}-d" font-family="{f}" font-size="12" fill="{ink}">'
        '<title id="{i}-t">{t}</title><desc id="{i}-d">{d}</desc>',
        w=width,
        h=height,
        i=ident,
        f=FONT,
        ink=INK,
        t=title,
        d=desc,
    )
    return mark_safe(head + "".join(body) + "</svg>")  # noqa: S308  (every part is escaped above)


def _text(x: float, y: float, content: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(content)}</text>'


def _y_axis(left: int, top: int, *, plot_w: int, plot_h: int, ticks: list[float], fmt) -> list[str]:
    """Grid lines and labels at ``ticks``; the last tick is the top of the plot."""
    out = []
    for v in ticks:
        y = top + plot_h - plot_h * v / ticks[-1]
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        out.append(_text(left - 6, y + 4, fmt(v), text_anchor="end"))
    return out


def _x_labels(dates: list[date], left: int, step: float, y: float) -> list[str]:
    every = max(1, round(len(dates) / 10))
    return [
        _text(left + step * (i + 0.5), y, f"{d:%d %b}", text_anchor="middle")
        for i, d in enumerate(dates)
        if i % every == 0 or (i == len(dates) - 1 and len(dates) <= 10)
    ]


def chart_decisions(data: DashboardData) -> SafeString:
    """Stacked bars: sign-ins per day, one segment per decision."""
    width, height, left, top, right, bottom = 760, 280, 48, 34, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = _count_ticks(max((data.day_total(d) for d in data.dates), default=0))
    vmax = ticks[-1]
    step = plot_w / len(data.dates)
    body = _y_axis(left, top, plot_w=plot_w, plot_h=plot_h, ticks=ticks, fmt=str)
    for i, day in enumerate(data.dates):
        y = top + plot_h
        for decision in DECISIONS:
            n = data.per_day[day][decision]
            if not n:
                continue
            h = plot_h * n / vmax
            y -= h
            body.append(
                f'<rect x="{left + step * i + step * 0.15:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" '
                f'height="{h:.1f}" fill="{DECISION_COLOURS[decision]}">'
                f"<title>{day:%d %b}: {n} {escape(DECISION_LABELS[decision].lower())}</title></rect>"
            )
    body += _x_labels(data.dates, left, step, height - bottom + 16)
    body.append(_legend(left, 16))
    desc = gettext("%(total)d sign-ins in %(days)d days: %(counts)s. The table below gives the numbers per day.") % {
        "total": data.total,
        "days": data.days,
        "counts": ", ".join(f"{data.by_decision[d]} {DECISION_LABELS[d].lower()}" for d in DECISIONS),
    }
    return _svg(
        width, height, title=gettext("Sign-ins per day by decision"), desc=desc, body=body, ident="chart-decisions"
    )


def _legend(x: int, y: int) -> str:
    parts = []
    for decision in DECISIONS:
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{DECISION_COLOURS[decision]}"/>')
        parts.append(_text(x + 16, y, DECISION_LABELS[decision]))
        x += 24 + 7 * len(DECISION_LABELS[decision])
    return "".join(parts)


def chart_challenge_rate(data: DashboardData) -> SafeString:
    """Line: share of sign-ins that needed more than a password, per day (gaps on empty days)."""
    width, height, left, top, right, bottom = 760, 220, 48, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / len(data.dates)
    body = _y_axis(left, top, plot_w=plot_w, plot_h=plot_h, ticks=[0, 0.25, 0.5, 0.75, 1.0], fmt=lambda v: f"{v:.0%}")
    segments: list[list[str]] = [[]]
    for i, day in enumerate(data.dates):
        rate = data.challenge_rate(day)
        if rate is None:
            segments.append([])
            continue
        x, y = left + step * (i + 0.5), top + plot_h - plot_h * rate
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{ACCENT}"><title>{day:%d %b}: {rate:.0%}</title></circle>'
        )
    for seg in segments:
        if len(seg) > 1:
            body.insert(0, f'<polyline points="{" ".join(seg)}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    body += _x_labels(data.dates, left, step, height - bottom + 16)
    rates = [r for r in (data.challenge_rate(d) for d in data.dates) if r is not None]
    desc = (
        gettext("Share of sign-ins challenged or refused per day; average %(average)s, highest %(highest)s.")
        % {"average": f"{sum(rates) / len(rates):.0%}", "highest": f"{max(rates):.0%}"}
        if rates
        else gettext("No sign-ins in this period.")
    )
    return _svg(width, height, title=gettext("Challenge rate per day"), desc=desc, body=body, ident="chart-rate")


def _hbars(
    rows: list[tuple[str, int]], title: str, desc: str, ident: str, colour: str = ACCENT, *, label_w: int = 170
) -> SafeString:
    width, bar_h, gap, top = 760, 20, 8, 8
    height = max(top * 2 + len(rows) * (bar_h + gap), 40)
    vmax = max((n for _, n in rows), default=0) or 1
    plot_w = width - label_w - 60
    body = []
    for i, (label, n) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(plot_w * n / vmax, 1)
        body.append(_text(label_w - 8, y + bar_h * 0.7, label, text_anchor="end"))
        body.append(
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}">'
            f"<title>{escape(label)}: {n}</title></rect>"
        )
        body.append(_text(label_w + w + 6, y + bar_h * 0.7, str(n)))
    if not rows:
        body.append(_text(width / 2, 26, gettext("No data in this period"), text_anchor="middle"))
    return _svg(width, height, title=title, desc=desc, body=body, ident=ident)


def chart_reasons(data: DashboardData) -> SafeString:
    """Bars: the reasons that raised the risk, in the words the users saw (the table has the codes)."""
    rows = [(label, n) for label, _, n in data.reason_rows]
    desc = "; ".join(f"{label}: {n}" for label, n in rows) or gettext("No reasons recorded in this period.")
    return _hbars(rows, gettext("Most frequent reasons for asking more"), desc, "chart-reasons", "#CC79A7", label_w=420)


def chart_countries(data: DashboardData) -> SafeString:
    desc = "; ".join(f"{cc}: {n}" for cc, n in data.countries) or gettext("No sign-ins in this period.")
    return _hbars(data.countries, gettext("Sign-ins by country"), desc, "chart-countries", "#56B4E9")


def chart_scores(data: DashboardData) -> SafeString:
    """Histogram of risk scores (higher is riskier)."""
    width, height, left, top, right, bottom = 760, 220, 48, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    bins = data.score_bins
    body: list[str] = []
    if bins:
        ticks = _count_ticks(max(n for _, _, n in bins))
        vmax = ticks[-1]
        body += _y_axis(left, top, plot_w=plot_w, plot_h=plot_h, ticks=ticks, fmt=str)
        step = plot_w / len(bins)
        for i, (lo, hi, n) in enumerate(bins):
            h = plot_h * n / vmax
            body.append(
                f'<rect x="{left + step * i + 1:.1f}" y="{top + plot_h - h:.1f}" width="{step - 2:.1f}" '
                f'height="{h:.1f}" fill="{ACCENT}"><title>{lo:.1f} to {hi:.1f}: {n}</title></rect>'
            )
        # The score axis has its own round ticks (the bin edges are rarely round numbers).
        lo, hi = bins[0][0], bins[-1][1]
        x_ticks, decimals = _range_ticks(lo, hi)
        for v in x_ticks:
            x = left + plot_w * (v - lo) / (hi - lo)
            body.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top + plot_h}" y2="{top + plot_h + 4}" stroke="{INK}"/>')
            body.append(_text(x, height - bottom + 16, _tick_label(v, decimals), text_anchor="middle"))
        body.append(_text(left + plot_w / 2, height - 6, gettext("score (higher is riskier)"), text_anchor="middle"))
        desc = gettext("%(count)d scored sign-ins from %(low)s to %(high)s.") % {
            "count": sum(n for _, _, n in bins),
            "low": f"{bins[0][0]:.1f}",
            "high": f"{bins[-1][1]:.1f}",
        }
    else:
        body.append(_text(width / 2, height / 2, gettext("No scored sign-ins in this period"), text_anchor="middle"))
        desc = gettext("No scored sign-ins in this period.")
    return _svg(width, height, title=gettext("Distribution of risk scores"), desc=desc, body=body, ident="chart-scores")


# Settings that map from an environment variable of another name (authsite/settings.py).
_ENV_NAMES = {"RISK_GEOIP_CITY_DB": "GEOIP_CITY_DB", "RISK_GEOIP_ASN_DB": "GEOIP_ASN_DB"}
_SITE_SETTINGS = {"RISK_TRUSTED_DEVICE_DAYS": 30, "RISK_FIRST_LOGIN_GRACE_HOURS": 24}


def risk_settings_rows() -> list[tuple[str, str, str]]:
    """Return (name, value, source) for every risk setting in force, for the admin to read.

    The source is the environment variable that set it, the settings module, or the default.
    """
    import os

    from django.conf import settings

    from risk import conf

    defaults = {**conf.DEFAULTS, **_SITE_SETTINGS}
    rows = []
    for name in sorted(defaults):
        value = getattr(settings, name, defaults[name])
        env = _ENV_NAMES.get(name, name)
        if os.environ.get(env):
            source = f"environment ({env})"
        elif hasattr(settings, name) and value != defaults[name]:
            source = "settings"
        else:
            source = "default"
        rows.append((name, repr(value) if not isinstance(value, str) else value, source))
    return rows


def dashboard_context(*, days: int) -> dict:
    """Return the template context of the dashboard page."""
    data = dashboard_data(days=days)
    return {
        "data": data,
        "decisions": [(d, DECISION_LABELS[d]) for d in DECISIONS],
        "decision_totals": [(DECISION_LABELS[d], data.by_decision[d]) for d in DECISIONS],
        "day_rows": [
            (day, [data.per_day[day][d] for d in DECISIONS], data.day_total(day), data.challenge_rate(day))
            for day in reversed(data.dates)
            if data.day_total(day)
        ],
        "chart_decisions": chart_decisions(data),
        "chart_rate": chart_challenge_rate(data),
        "chart_reasons": chart_reasons(data),
        "chart_countries": chart_countries(data),
        "chart_scores": chart_scores(data),
        "day_choices": (7, 30, 90, 365),
        "settings_rows": risk_settings_rows(),
        **threshold_context(days=days),
    }


def threshold_context(*, days: int) -> dict:
    """Return the template context of the dashboard's threshold section."""
    data = threshold_data(days=days)
    return {
        "thresholds": data,
        "chart_thresholds": chart_thresholds(data),
        "chart_target": chart_target_rate(data),
        "threshold_rows": [(r, _pct(r.expected_rate), _pct(r.target_rate)) for r in reversed(data.history)],
        "band_rate_rows": [(label, n, c, f"{c / n:.1%}" if n else "-") for label, n, c in data.band_rates],
        "target_pct": _pct(data.target),
    }


# --- Self-calibrating thresholds (docs/risk-model.md) ------------------------------------------

BAND_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")


@dataclass
class ThresholdData:
    """The thresholds in force, their history, and the challenge rate of completed sign-ins."""

    target: float
    fixed: float
    bands: list[str]
    band_mins: list[int]
    in_force: list[dict]  # one per band: label, challenge, calibrated, computed_at, sign_ins, expected_rate
    history: list  # ChallengeThreshold rows of the period, oldest first
    dates: list[date]
    completed: dict[date, tuple[int, int]]  # day -> (completed sign-ins with history, of them challenged)
    band_rates: list[tuple[str, int, int]]  # (band, completed, challenged) over the period

    def rate(self, day: date) -> float | None:
        n, challenged = self.completed.get(day, (0, 0))
        return challenged / n if n else None


def threshold_data(*, days: int) -> ThresholdData:
    """Return the thresholds of the last ``days`` days and how often completed sign-ins were challenged.

    The rate counts what the calibration aims at: completed sign-ins of users with history,
    challenged (any second step) or not.
    """
    from risk.calibration import thresholds_in_force
    from risk.models import ChallengeThreshold
    from risk.thresholds import calibration_settings

    cfg = calibration_settings()
    now = timezone.localtime(clock.now())
    start = now.date() - timedelta(days=days - 1)
    since = timezone.make_aware(datetime.combine(start, time.min), now.tzinfo)
    rows = thresholds_in_force()
    in_force = []
    for i, low in enumerate(cfg.bands):
        row = rows.get(low)
        in_force.append(
            {
                "label": cfg.band_label(i),
                "challenge": row.challenge if row is not None and row.calibrated else cfg.default,
                "calibrated": row is not None and row.calibrated,
                "computed_at": row.computed_at if row is not None else None,
                "sign_ins": row.sign_ins if row is not None else None,
                "expected_rate": _pct(row.expected_rate if row is not None else None),
                "target_rate": _pct(row.target_rate if row is not None else None),
            }
        )
    history = list(ChallengeThreshold.objects.filter(computed_at__gte=since).order_by("computed_at", "band_min"))
    completed_events = LoginEvent.objects.filter(
        created_at__gte=since, outcome=LoginEvent.Outcome.SUCCESS, earlier_sign_ins__gte=1
    ).order_by()
    challenged = ~Q(decision="allow")
    completed: dict[date, tuple[int, int]] = {}
    per_day = (
        completed_events.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"), c=Count("id", filter=challenged))
    )
    for row in per_day:
        completed[row["day"]] = (row["n"], row["c"])
    by_band = [[0, 0] for _ in cfg.bands]
    per_history = completed_events.values("earlier_sign_ins").annotate(n=Count("id"), c=Count("id", filter=challenged))
    for row in per_history:
        band = cfg.band_of(row["earlier_sign_ins"])
        if band is not None:
            by_band[band][0] += row["n"]
            by_band[band][1] += row["c"]
    return ThresholdData(
        target=cfg.target,
        fixed=cfg.default,
        bands=[cfg.band_label(i) for i in range(len(cfg.bands))],
        band_mins=list(cfg.bands),
        in_force=in_force,
        history=history,
        dates=[start + timedelta(days=i) for i in range(days)],
        completed=completed,
        band_rates=[(cfg.band_label(i), n, c) for i, (n, c) in enumerate(by_band)],
    )


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate:.2%}"


def _band_legend(labels: list[str], x: int, y: int) -> list[str]:
    parts = []
    for i, label in enumerate(labels):
        colour = BAND_COLOURS[i % len(BAND_COLOURS)]
        parts.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 16, y, gettext("%(band)s earlier sign-ins") % {"band": label}))
        x += 40 + 7 * len(label) + 100
    parts.append(f'<line x1="{x}" x2="{x + 20}" y1="{y - 4}" y2="{y - 4}" stroke="{INK}" stroke-dasharray="4 3"/>')
    parts.append(_text(x + 26, y, gettext("fixed default")))
    return parts


def chart_thresholds(data: ThresholdData) -> SafeString:
    """Lines: each band's CHALLENGE threshold at each calibration run, and the fixed default (dashed)."""
    width, height, left, top, right, bottom = 760, 240, 48, 34, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [r.challenge for r in data.history] + [data.fixed]
    lo, hi = min(values), max(values)
    if hi - lo < 1:
        lo, hi = lo - 0.5, hi + 0.5
    ticks, decimals = _range_ticks(lo, hi, most=5)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    first = data.dates[0]
    span = (data.dates[-1] - first).days + 1

    def xy(when: datetime, value: float) -> tuple[float, float]:
        local = timezone.localtime(when)
        offset = (local.date() - first).days + (local.hour * 60 + local.minute) / 1440
        return left + plot_w * offset / span, top + plot_h - plot_h * (value - lo) / (hi - lo)

    body = []
    for v in ticks:
        y = top + plot_h - plot_h * (v - lo) / (hi - lo)
        body.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, _tick_label(v, decimals), text_anchor="end"))
    fixed_title = gettext("fixed default %(threshold)s") % {"threshold": f"{data.fixed:.2f}"}
    y_fixed = top + plot_h - plot_h * (data.fixed - lo) / (hi - lo)
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y_fixed:.1f}" y2="{y_fixed:.1f}" stroke="{INK}" '
        f'stroke-dasharray="4 3"><title>{escape(fixed_title)}</title></line>'
    )
    for i, (label, band_min) in enumerate(zip(data.bands, data.band_mins, strict=True)):
        colour = BAND_COLOURS[i % len(BAND_COLOURS)]
        points = [(r, *xy(r.computed_at, r.challenge)) for r in data.history if r.band_min == band_min]
        if len(points) > 1:
            line = " ".join(f"{x:.1f},{y:.1f}" for _, x, y in points)
            body.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for r, x, y in points:
            state = gettext("calibrated") if r.calibrated else gettext("fixed default (too few sign-ins)")
            point = gettext("%(band)s: %(threshold)s on %(when)s, %(state)s") % {
                "band": label,
                "threshold": f"{r.challenge:.2f}",
                "when": f"{timezone.localtime(r.computed_at):%d %b %H:%M}",
                "state": state,
            }
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"><title>{escape(point)}</title></circle>'
            )
    body += _x_labels(data.dates, left, plot_w / len(data.dates), height - bottom + 16)
    body += _band_legend(data.bands, left, 16)
    runs = len({r.computed_at for r in data.history})
    fixed = f"{data.fixed:.2f}"
    desc = (
        ngettext(
            "%(runs)d calibration run in this period; the fixed default is %(fixed)s. The table below lists every run.",
            "%(runs)d calibration runs in this period; the fixed default is %(fixed)s. "
            "The table below lists every run.",
            runs,
        )
        % {"runs": runs, "fixed": fixed}
        if runs
        else gettext("No calibration run in this period: the fixed default %(fixed)s is in force.") % {"fixed": fixed}
    )
    return _svg(
        width, height, title=gettext("CHALLENGE threshold per band"), desc=desc, body=body, ident="chart-thresholds"
    )


def chart_target_rate(data: ThresholdData) -> SafeString:
    """Line: share of completed sign-ins (users with history) that were challenged, against the target (dashed)."""
    width, height, left, top, right, bottom = 760, 220, 48, 16, 12, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    rates = [r for r in (data.rate(d) for d in data.dates) if r is not None]
    vmax = max([data.target * 2, *rates])
    mantissa, exponent = _nice_step(vmax / 4)
    step = mantissa * 10.0**exponent
    ticks = [round(k * step, 10) for k in range(math.ceil(vmax / step - 1e-9) + 1)]
    body = _y_axis(left, top, plot_w=plot_w, plot_h=plot_h, ticks=ticks, fmt=lambda v: f"{v:.0%}" if v else "0%")
    if any(f"{v:.0%}" == f"{w:.0%}" for v, w in itertools.pairwise(ticks)):
        body = _y_axis(left, top, plot_w=plot_w, plot_h=plot_h, ticks=ticks, fmt=lambda v: f"{v:.1%}")
    y_target = top + plot_h - plot_h * data.target / ticks[-1]
    target = gettext("target %(rate)s") % {"rate": f"{data.target:.1%}"}
    body.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{y_target:.1f}" y2="{y_target:.1f}" stroke="{INK}" '
        f'stroke-dasharray="4 3"><title>{escape(target)}</title></line>'
    )
    body.append(_text(left + plot_w - 4, y_target - 4, target, text_anchor="end"))
    xstep = plot_w / len(data.dates)
    segments: list[list[str]] = [[]]
    for i, day in enumerate(data.dates):
        rate = data.rate(day)
        if rate is None:
            segments.append([])
            continue
        x, y = left + xstep * (i + 0.5), top + plot_h - plot_h * rate / ticks[-1]
        segments[-1].append(f"{x:.1f},{y:.1f}")
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{ACCENT}"><title>{day:%d %b}: {rate:.1%}</title></circle>'
        )
    for seg in segments:
        if len(seg) > 1:
            body.insert(0, f'<polyline points="{" ".join(seg)}" fill="none" stroke="{ACCENT}" stroke-width="2"/>')
    body += _x_labels(data.dates, left, xstep, height - bottom + 16)
    total = sum(n for n, _ in data.completed.values())
    challenged = sum(c for _, c in data.completed.values())
    desc = (
        ngettext(
            "%(challenged)d of %(total)d completed sign-in of users with history was challenged (%(rate)s); "
            "the target is %(target)s.",
            "%(challenged)d of %(total)d completed sign-ins of users with history were challenged (%(rate)s); "
            "the target is %(target)s.",
            total,
        )
        % {
            "challenged": challenged,
            "total": total,
            "rate": f"{challenged / total:.1%}",
            "target": f"{data.target:.1%}",
        }
        if total
        else gettext("No completed sign-ins of users with history in this period.")
    )
    return _svg(
        width, height, title=gettext("Challenge rate against the target"), desc=desc, body=body, ident="chart-target"
    )
