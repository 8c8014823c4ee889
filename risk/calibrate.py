"""Pick decision thresholds from a replay's scores and the trace's labels."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from typing import TextIO

from risk.replay import _LO, _WIDTH, ReplayFormatError, ScoreHistogram, _is_true


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


def read_scores(scores: TextIO, trace: TextIO) -> tuple[list[float], ScoreHistogram]:
    """Join a replay output with its input; return takeover scores and a histogram of the rest.

    The output has one row per successful input row, in the same order; the indexes must match.
    """
    out = csv.reader(scores)
    inp = csv.reader(trace)
    out_header = next(out, None)
    in_header = next(inp, None)
    if out_header is None or in_header is None:
        raise ReplayFormatError("empty input")
    if out_header[:2] != ["index", "score"]:
        raise ReplayFormatError("the scores file must start with index,score")
    col = {name.strip(): i for i, name in reversed(list(enumerate(in_header)))}
    for needed in ("index", "Login Successful", "Is Account Takeover"):
        if needed not in col:
            raise ReplayFormatError(f"missing column: {needed}")
    i_idx, i_ok, i_ato = col["index"], col["Login Successful"], col["Is Account Takeover"]
    ato: list[float] = []
    legit = ScoreHistogram()
    for row in inp:
        if not row or not _is_true(row[i_ok]):
            continue
        scored = next(out, None)
        if scored is None:
            raise ReplayFormatError(f"scores end before input row {row[i_idx]}")
        if scored[0] != row[i_idx]:
            raise ReplayFormatError(f"scores row {scored[0]} does not match input row {row[i_idx]}")
        score = float(scored[1])
        if _is_true(row[i_ato]):
            ato.append(score)
        else:
            legit.add(score)
    return ato, legit


def calibrate(ato: list[float], legit: ScoreHistogram, *, target: float, max_deny_rate: float = 0.002) -> Calibration:
    """Return the highest CHALLENGE threshold that catches ``target`` of the takeovers, and the
    lowest DENY threshold (at histogram resolution) that denies at most ``max_deny_rate`` of the
    legitimate sign-ins."""
    if not ato:
        raise ValueError("no account takeovers in the input: nothing to calibrate against")
    if not 0 < target <= 1:
        raise ValueError("target must be in (0, 1]")
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
            deny = _LO + (i + 1) * _WIDTH
            break
        running += legit.counts[i]
    if deny is None:
        deny = _LO
    deny = max(deny, challenge)
    return Calibration(target, challenge, challenge_rate, deny, legit.at_least(deny) / n, len(ato), legit.n)
