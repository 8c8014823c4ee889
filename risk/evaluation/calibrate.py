"""Pick decision thresholds from a replay's scores and the trace's labels."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from risk.evaluation.replay import (
    BIN_WIDTH,
    SCORE_MIN,
    ReplayEncodingError,
    ReplayFormatError,
    ScoreHistogram,
    csv_error,
    header_names,
    parse_flag,
)


@dataclass(frozen=True)
class Calibration:
    """Suggested thresholds and what they would have done on the replay's scores."""

    target: float
    challenge: float
    legit_challenge_rate: float
    deny: float
    legit_deny_rate: float
    n_ato: int
    n_legit: int


def _rows(stream: TextIO, what: str) -> Iterator[tuple[int, list[str]]]:
    """Yield ``(line, row)`` for the non-blank rows of a CSV stream; undecodable bytes and CSV
    errors become ReplayFormatError naming ``what`` ("scores" or "input")."""
    reader = csv.reader(stream)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise ReplayEncodingError(reader.line_num, what=what) from exc
        except csv.Error as exc:
            raise csv_error(reader.line_num, exc, what) from exc
        if row:
            yield reader.line_num, row


def _next_score(out: Iterator[tuple[int, list[str]]], index: str, line: int) -> float:
    """Return the score of the next scores row, which must be for input row ``index`` (at ``line``)."""
    scored = next(out, None)
    if scored is None:
        raise ReplayFormatError(f"scores end before input row {index} (input line {line})")
    s_line, scored = scored
    if len(scored) < 2:
        raise ReplayFormatError(f"scores line {s_line}: too few fields (expected index,score,...)")
    if scored[0] != index:
        raise ReplayFormatError(
            f"scores line {s_line}: row {scored[0]} does not match input row {index} (input line {line})"
        )
    try:
        return float(scored[1])
    except ValueError:
        raise ReplayFormatError(f"scores line {s_line}: score {scored[1]!r} is not a number") from None


def read_scores(scores: TextIO, trace: TextIO) -> tuple[list[float], ScoreHistogram]:
    """Join a replay output with its input; return takeover scores and a histogram of the rest.

    The output has one row per successful input row, in the same order; the indexes must match,
    and neither file may have rows the other lacks.
    """
    out = _rows(scores, "scores")
    inp = _rows(trace, "input")
    out_header = next(out, None)
    in_header = next(inp, None)
    if out_header is None or in_header is None:
        raise ReplayFormatError("empty input")
    if header_names(out_header[1][:2]) != ["index", "score"]:
        raise ReplayFormatError("the scores file must start with index,score")
    col = {name: i for i, name in reversed(list(enumerate(header_names(in_header[1]))))}
    for needed in ("index", "Login Successful", "Is Account Takeover"):
        if needed not in col:
            raise ReplayFormatError(f"missing column: {needed}")
    i_idx, i_ok, i_ato = col["index"], col["Login Successful"], col["Is Account Takeover"]
    width = max(i_idx, i_ok, i_ato) + 1
    ato: list[float] = []
    legit = ScoreHistogram()
    for line, row in inp:
        if len(row) < width:
            raise ReplayFormatError(f"input line {line}: {len(row)} fields, too few for the header")
        try:
            if not parse_flag(row[i_ok], "Login Successful"):
                continue
            is_ato = parse_flag(row[i_ato], "Is Account Takeover")
        except ValueError as exc:
            raise ReplayFormatError(f"input line {line}: {exc}") from exc
        score = _next_score(out, row[i_idx], line)
        if is_ato:
            ato.append(score)
        else:
            legit.add(score)
    extra = next(out, None)
    if extra is not None:
        s_line, scored = extra
        raise ReplayFormatError(
            f"scores line {s_line}: row {scored[0]} has no successful login left in the input to match "
            "(the scores must come from replaying this input)"
        )
    return ato, legit


def calibrate(ato: list[float], legit: ScoreHistogram, *, target: float, max_deny_rate: float = 0.002) -> Calibration:
    """Return the highest CHALLENGE threshold that catches ``target`` of the takeovers, and the
    lowest DENY threshold (at histogram resolution) that denies at most ``max_deny_rate`` of the
    legitimate sign-ins."""
    if not ato:
        raise ValueError("no account takeovers in the input: nothing to calibrate against")
    if not 0 < target <= 1:
        raise ValueError("target must be in (0, 1]")
    if not 0 <= max_deny_rate <= 1:
        raise ValueError("max_deny_rate must be in [0, 1]")
    ordered = sorted(ato, reverse=True)
    k = max(1, math.ceil(target * len(ordered)))
    challenge = ordered[k - 1]
    # Bin resolution: report the rate for the bin that holds the threshold.
    n = max(legit.n, 1)
    challenge_rate = legit.at_least(challenge) / n
    deny = None
    running = 0
    for i in range(len(legit.counts) - 1, -1, -1):
        if (running + legit.counts[i]) / n > max_deny_rate:
            deny = SCORE_MIN + (i + 1) * BIN_WIDTH
            break
        running += legit.counts[i]
    if deny is None:
        deny = SCORE_MIN
    deny = max(deny, challenge)
    return Calibration(target, challenge, challenge_rate, deny, legit.at_least(deny) / n, len(ato), legit.n)
