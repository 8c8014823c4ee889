"""Replay a login trace in the RBA data set format through the engine (docs/risk-model.md).

Rows are read in file order with the csv module and never kept: memory holds the per-user state
of an in-memory count store, the velocity windows, and fixed-size score histograms (for the
ROC AUC), so it does not grow with the number of rows.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TextIO

from authsite.core.ua import ParsedUA, parse_ua
from risk.context import context_from_parts
from risk.decision import Decision
from risk.evaluation.rba_format import COLUMNS
from risk.geo import GeoResult
from risk.policy import Assessment, FreemanPolicy, assess, learn
from risk.store import MemoryCountStore
from risk.thresholds import RollingCalibration
from risk.velocity import MemoryVelocityStore

# Optional extras: coordinates (docs/risk-model.md), and a device-cookie value ("Device ID", an extension of
# this project: the RBA data set has none) used unless the replayer is told to ignore it.
OPTIONAL_COLUMNS = ("Latitude", "Longitude", "Device ID")
OUTPUT_HEADER = ("index", "score", "decision", "reasons")

# Histogram of scores for the AUC: bins of 0.02 between -60 and +60; outside values are clamped.
SCORE_MIN, SCORE_MAX, BIN_WIDTH = -60.0, 60.0, 0.02
_BINS = int((SCORE_MAX - SCORE_MIN) / BIN_WIDTH) + 1


class ReplayFormatError(ValueError):
    """The input is not in the RBA data set format."""


class ReplayEncodingError(ReplayFormatError):
    """The input is not UTF-8 text.

    A text stream decodes ahead of the csv reader in blocks, so the reader only knows that the bad
    byte comes after the ``after_line`` lines it has read; ``line`` is the exact line when known
    (see ``undecodable_line``).
    """

    def __init__(self, after_line: int = 0, line: int | None = None, *, what: str = "") -> None:
        self.after_line = after_line
        self.line = line
        self.what = what  # which of several inputs, for messages ("scores", "input")
        if line is not None:
            message = f"line {line}: not UTF-8 text (save the file as UTF-8)"
        elif after_line:
            message = f"not UTF-8 text somewhere after line {after_line} (save the file as UTF-8)"
        else:
            message = "not UTF-8 text (save the file as UTF-8)"
        super().__init__(f"{what} {message}" if what else message)

    def located(self, path: str | os.PathLike) -> ReplayEncodingError:
        """Return this error with the exact line of the first bad byte of the file at ``path``."""
        try:
            line = undecodable_line(path)
        except OSError:
            line = None
        return self if line is None else ReplayEncodingError(self.after_line, line, what=self.what)


def undecodable_line(path: str | os.PathLike) -> int | None:
    """Return the line (1-based, lines ended by LF, CRLF or CR as the csv reader counts them) of the
    first byte of ``path`` that is not UTF-8, or None if the whole file decodes.

    Only for error messages: reads the file again. No UTF-8 sequence contains a CR or LF byte, so
    each LF-ended chunk decodes on its own.
    """
    line = 1
    with open(path, "rb") as fh:
        for raw in fh:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                return line + raw.count(b"\r", 0, exc.start)
            line += raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    return None


def csv_error(line: int, exc: csv.Error, what: str = "") -> ReplayFormatError:
    """Return the ReplayFormatError for a csv.Error raised at ``line``."""
    message = f"{what} line {line}" if what else f"line {line}"
    message += f": not valid CSV ({exc})"
    if "field limit" in str(exc):
        message += ": a field is too long, or a quote is never closed and its field swallows the lines after it"
    return ReplayFormatError(message)


def header_names(header: list[str]) -> list[str]:
    """The column names of a header row, trimmed, without the byte-order mark spreadsheets write."""
    names = [h.strip() for h in header]
    if names:
        names[0] = names[0].removeprefix("\ufeff").strip()
    return names


class ScoreHistogram:
    """Counts of scores in fixed bins: constant memory, AUC exact up to ties within a bin."""

    __slots__ = ("counts", "n")

    def __init__(self) -> None:
        self.counts = [0] * _BINS
        self.n = 0

    def add(self, score: float) -> None:
        if math.isnan(score):
            score = SCORE_MAX
        i = int((min(max(score, SCORE_MIN), SCORE_MAX) - SCORE_MIN) / BIN_WIDTH)
        self.counts[i] += 1
        self.n += 1

    def at_least(self, threshold: float) -> int:
        """Return how many scores fall in bins at or above ``threshold`` (bin resolution)."""
        i = int((min(max(threshold, SCORE_MIN), SCORE_MAX) - SCORE_MIN) / BIN_WIDTH)
        return sum(self.counts[i:])


def roc_auc(positives: ScoreHistogram, negatives: ScoreHistogram) -> float | None:
    """Return P(score of a positive > score of a negative), ties counting one half."""
    if not positives.n or not negatives.n:
        return None
    below = 0  # negatives in lower bins
    total = 0.0
    for p, q in zip(positives.counts, negatives.counts, strict=True):
        total += p * (below + q / 2)
        below += q
    return total / (positives.n * negatives.n)


@dataclass
class ReplayStats:
    """Counters of one replay."""

    rows: int = 0
    failed_rows: int = 0
    scored: int = 0
    legit: int = 0
    legit_challenged: int = 0
    legit_denied: int = 0
    ato: int = 0
    ato_caught: int = 0
    ato_denied: int = 0
    decisions: dict = field(default_factory=lambda: {d.value: 0 for d in Decision})
    pos: ScoreHistogram = field(default_factory=ScoreHistogram)
    neg: ScoreHistogram = field(default_factory=ScoreHistogram)

    @property
    def auc(self) -> float | None:
        return roc_auc(self.pos, self.neg)

    def summary(self) -> str:
        """Return the printed summary."""

        def pct(a: int, b: int) -> str:
            return f"{100.0 * a / b:.2f}% ({a}/{b})" if b else "n/a (0 rows)"

        auc = self.auc
        return "\n".join(
            [
                (
                    f"rows: {self.rows} (failed password attempts: {self.failed_rows}, "
                    f"scored successful logins: {self.scored})"
                ),
                "decisions: " + ", ".join(f"{k} {v}" for k, v in self.decisions.items()),
                f"legitimate logins: {self.legit}",
                f"  challenged: {pct(self.legit_challenged, self.legit)}",
                f"  denied: {pct(self.legit_denied, self.legit)}",
                f"account takeovers: {self.ato}",
                f"  caught (challenged or denied): {pct(self.ato_caught, self.ato)}",
                f"  denied: {pct(self.ato_denied, self.ato)}",
                "ROC AUC of the score (takeover vs legitimate): "
                + (f"{auc:.4f}" if auc is not None else "n/a (needs both classes)"),
            ]
        )


_TRUTH = {"True": True, "False": False, "true": True, "false": False}
_FLAG_WORDS = {"true": True, "false": False}
_EMPTY = frozenset({"", "-"})


def parse_flag(value: str, column: str) -> bool:
    """Return the True/False flag ``value`` of ``column`` (any case, surrounding spaces allowed).

    Anything else raises ValueError: guessing False for 'yes' or '1' would silently mislabel rows.
    The replay looks the common spellings up in ``_TRUTH`` first and calls this only on a miss.
    """
    flag = _FLAG_WORDS.get(value.strip().lower())
    if flag is None:
        shown = value if len(value) <= 40 else value[:40] + "..."
        raise ValueError(f"{column} must be True or False, not {shown!r}")
    return flag


def _float(value: str | None) -> float | None:
    if not value or value == "-":
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _row_place(country: str, region: str, city: str, asn: str) -> tuple:
    """Return the row's country, region, city ('-' or empty: unknown) and ASN (None if not a number)."""
    asn = asn.strip()
    return (
        None if country in _EMPTY else country.strip(),
        None if region in _EMPTY else region.strip(),
        None if city in _EMPTY else city.strip(),
        int(asn) if asn.lstrip("-").isdigit() else None,
    )


def _row_ua(ua: str, browser: str, os_: str, device: str) -> ParsedUA:
    """Parse the UA string; when it does not parse, take the row's Browser/OS/Device columns."""
    parsed = parse_ua(ua)
    if parsed.parsed or parsed.is_automation or not browser.strip():
        return parsed
    name, _, version = browser.strip().rpartition(" ")
    if not name or not version[:1].isdigit():
        name, version = browser.strip(), ""
    os_name, _, os_version = os_.strip().rpartition(" ")
    if not os_name or not os_version[:1].isdigit():
        os_name, os_version = os_.strip() or "Other", ""
    return ParsedUA(
        browser_family=name,
        browser_major=version.split(".")[0],
        os_family=os_name,
        os_version=".".join(os_version.split(".")[:2]),
        device_type=device.strip() or "unknown",
        is_automation=False,
    )


class _ParseCache(dict):
    """Parsed values per distinct raw text: rows repeat a few places and user agents.

    A miss parses ``key``'s fields; past ``limit`` entries the cache starts over, so memory
    stays bounded on inputs with endless distinct values.
    """

    __slots__ = ("limit", "parse")

    def __init__(self, parse: Callable, limit: int = 50000) -> None:
        super().__init__()
        self.parse = parse
        self.limit = limit

    def __missing__(self, key: tuple):
        if len(self) > self.limit:
            self.clear()
        value = self[key] = self.parse(*key)
        return value


class Replayer:
    """Feed rows to the engine following the replay contract."""

    def __init__(
        self,
        *,
        baseline: bool = False,
        policy=None,
        signals=None,
        on_scored: Callable | None = None,
        use_device_ids: bool = True,
        calibrate: bool = False,
        use_rtt: bool = True,
    ) -> None:
        self.use_device_ids = use_device_ids
        self.use_rtt = use_rtt
        # Self-calibrating thresholds, recomputed per day of the trace from the replayed history
        # (docs/risk-model.md); None replays the fixed RISK_THRESHOLDS.
        self.calibration = RollingCalibration() if calibrate else None
        self.store = MemoryCountStore()
        self.velocity = MemoryVelocityStore()
        self.policy = policy or (FreemanPolicy() if baseline else None)
        self.signals = signals
        self.on_scored = on_scored
        self.stats = ReplayStats()
        self._ua_cache = _ParseCache(_row_ua)
        self._place_cache = _ParseCache(_row_place)

    def run(self, infile: TextIO, outfile: TextIO | None = None) -> ReplayStats:
        """Replay a CSV stream; write ``index,score,decision,reasons`` rows to ``outfile``."""
        reader = csv.reader(infile)
        try:
            header = next(reader)
        except StopIteration:
            raise ReplayFormatError("empty input") from None
        except UnicodeDecodeError as exc:
            raise ReplayEncodingError(reader.line_num) from exc
        except csv.Error as exc:
            raise csv_error(reader.line_num, exc) from exc
        header = header_names(header)
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise ReplayFormatError(f"missing columns: {', '.join(missing)}")
        col = {name: i for i, name in reversed(list(enumerate(header)))}
        writer = csv.writer(outfile, lineterminator="\n") if outfile is not None else None
        if writer is not None:
            writer.writerow(OUTPUT_HEADER)
        try:
            self._process(reader, col, writer)
        except UnicodeDecodeError as exc:
            # Decoding runs ahead of the reader: the bad byte is after line_num, not on it.
            raise ReplayEncodingError(reader.line_num) from exc
        except csv.Error as exc:
            raise csv_error(reader.line_num, exc) from exc
        except IndexError:
            # A row shorter than the header (the hot loop indexes columns without checking).
            raise ReplayFormatError(f"line {reader.line_num}: fewer fields than the header's {len(header)}") from None
        except ValueError as exc:
            raise ReplayFormatError(f"line {reader.line_num}: {exc}") from exc
        return self.stats

    def _process(self, reader: Iterable[list[str]], col: dict, writer) -> None:
        # The hot loop of the replay: column indexes, flags and bound methods are hoisted into
        # locals, and the common spellings of flags are looked up rather than parsed.
        i_idx, i_ts, i_uid = col["index"], col["Login Timestamp"], col["User ID"]
        i_rtt, i_ip, i_cc = col["Round-Trip Time [ms]"], col["IP Address"], col["Country"]
        i_reg, i_city, i_asn = col["Region"], col["City"], col["ASN"]
        i_ua, i_br, i_os = col["User Agent String"], col["Browser Name and Version"], col["OS Name and Version"]
        i_dev, i_ok = col["Device Type"], col["Login Successful"]
        i_att, i_ato = col["Is Attack IP"], col["Is Account Takeover"]
        i_lat, i_lon = col.get("Latitude"), col.get("Longitude")
        i_dev_id = col.get("Device ID") if self.use_device_ids else None
        i_rtt = i_rtt if self.use_rtt else None
        calibration = self.calibration
        day = None  # the trace's current day, for the calibration
        stats, store, velocity = self.stats, self.store, self.velocity
        policy, signals, on_scored = self.policy, self.signals, self.on_scored
        ua_cache, place_cache = self._ua_cache, self._place_cache
        users = store.users
        decisions = stats.decisions
        pos_add, neg_add = stats.pos.add, stats.neg.add
        writerow = writer.writerow if writer is not None else None
        truth = _TRUTH.get
        ALLOW, DENY = Decision.ALLOW, Decision.DENY
        names = {d: d.value for d in Decision}  # Enum.value is a Python-level property
        for row in reader:
            if not row:
                continue
            stats.rows += 1
            ts = datetime.fromisoformat(row[i_ts].strip()).replace(tzinfo=UTC)
            uid = row[i_uid].strip()
            ip = row[i_ip].strip()
            ok = truth(row[i_ok])
            if ok is None:
                ok = parse_flag(row[i_ok], "Login Successful")
            if not ok:
                # A failed password attempt: velocity only, never scored or learned. Its flags
                # are still checked, so a bad value is refused wherever it is.
                if truth(row[i_att]) is None:
                    parse_flag(row[i_att], "Is Attack IP")
                if truth(row[i_ato]) is None:
                    parse_flag(row[i_ato], "Is Account Takeover")
                stats.failed_rows += 1
                velocity.record_failure(uid, ip, ts)
                continue
            parsed = ua_cache[row[i_ua], row[i_br], row[i_os], row[i_dev]]
            country, region, city, asn = place_cache[row[i_cc], row[i_reg], row[i_city], row[i_asn]]
            geo = GeoResult(
                country=country,
                region=region,
                city=city,
                latitude=_float(row[i_lat]) if i_lat is not None else None,
                longitude=_float(row[i_lon]) if i_lon is not None else None,
                asn=asn,
            )
            attack_ip = truth(row[i_att])
            if attack_ip is None:
                attack_ip = parse_flag(row[i_att], "Is Attack IP")
            ctx = context_from_parts(
                user_id=uid,
                ip=ip,
                user_agent=row[i_ua],
                timestamp=ts,
                geo=geo,
                device_id=(row[i_dev_id] or None) if i_dev_id is not None else None,
                ip_reputation_hit=attack_ip,
                round_trip_ms=_float(row[i_rtt]) if i_rtt is not None and row[i_rtt] else None,
                parsed_ua=parsed,
            )
            state = users.get(uid)
            n_before = state.profile.n_success if state is not None else 0
            # An evaluation must see engine errors, not a fail-closed decision.
            if calibration is not None and ts.toordinal() != day:
                day = ts.toordinal()
                calibration.advance(day)
            result: Assessment = assess(
                ctx, store, velocity, policy=policy, signals=signals, fail_closed=False, thresholds=calibration
            )
            decision = result.decision
            stats.scored += 1
            name = names[decision]
            decisions[name] += 1
            if writerow is not None:
                reasons = result.reasons
                writerow(
                    (
                        row[i_idx],
                        f"{result.score:.4f}",
                        name,
                        ";".join([r.code for r in reasons]) if reasons else "",
                    )
                )
            # Only now may the label be read (contract step 4).
            is_ato = truth(row[i_ato])
            if is_ato is None:
                is_ato = parse_flag(row[i_ato], "Is Account Takeover")
            if is_ato:
                stats.ato += 1
                pos_add(result.score)
                if decision is not ALLOW:
                    stats.ato_caught += 1
                if decision is DENY:
                    stats.ato_denied += 1
            else:
                stats.legit += 1
                neg_add(result.score)
                if decision is DENY:
                    stats.legit_denied += 1
                elif decision is not ALLOW:
                    stats.legit_challenged += 1
            if decision is ALLOW:
                success = True
            elif decision is DENY:
                success = False
            else:
                success = not is_ato  # the owner passes the factor, the attacker does not
            if success:
                learn(ctx, store, velocity)
                if calibration is not None:
                    floored = decision is not ALLOW and any(r.floor for r in result.reasons)
                    calibration.observe(n_before, result.score, floored=floored)
            else:
                velocity.record_failure(uid, ip, ts)
            if on_scored is not None:
                on_scored(row, col, result, n_before, is_ato)
