"""Train the logistic model of risk/learned.py from replayed history with injected attacks.

A trace in the RBA format whose takeovers come from the published attacker models (Wiefling et
al., ACM TOPS 2022: naive, VPN, targeted; the simulators of this package write them) is replayed
under the replay contract with the hand-written policy deciding outcomes, so the history that
accumulates is the one the site would have. For every scored sign-in with history the features of
risk/learned.py are recorded with the label. Then a logistic regression with an L2 penalty is fitted
(plain Python, Adam on standardised features, attacks weighted to half the total weight), and the
thresholds are set on the training data: CHALLENGE at the log-odds that challenges
``challenge_rate`` of the settled legitimate sign-ins (10+ earlier ones), CHALLENGE_STRONG at 1% of
them, DENY above all but ``deny_rate`` (default none) of the legitimate sign-ins, and of the settled
ones. A denied owner is not learned, so their next sign-in from the same new device is denied
again: on its own training trace a model whose DENY let through 0.03% of settled sign-ins denied
0.2% of them in replay. Hence the default of none.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from risk.evaluation.breakdown import SETTLED
from risk.evaluation.replay import Replayer, ScoreHistogram, roc_auc
from risk.learned import FEATURES, LogisticModel, features
from risk.policy import AdaptivePolicy

TRAIN_KINDS = ("naive", "vpn", "targeted")


@dataclass
class TrainingSet:
    """Feature vectors with labels, and whether each legitimate one had a settled history."""

    x: list = field(default_factory=list)
    y: list = field(default_factory=list)
    settled: list = field(default_factory=list)
    kinds: dict = field(default_factory=dict)
    rows: int = 0


class _Recorder(AdaptivePolicy):
    """The hand-written policy, noting the learned features of each attempt with history."""

    def __init__(self) -> None:
        super().__init__()
        self.last = None

    def decide(self, ctx, snap, signals, velocity):
        self.last = features(ctx, snap, signals)[0] if snap.n_user > 0 else None
        return super().decide(ctx, snap, signals, velocity)


class _Labeller:
    """The replay's ``on_scored`` callback: files the recorded features under the row's label."""

    def __init__(self, data: TrainingSet, recorder: _Recorder, kinds) -> None:
        self.data, self.recorder, self.kinds = data, recorder, kinds

    def __call__(self, row, col, result, n_before, is_ato) -> None:
        x, data = self.recorder.last, self.data
        if x is None:
            return
        if is_ato:
            i = col.get("Attacker Type")
            kind = row[i] if i is not None else ""
            if self.kinds and kind not in self.kinds:
                return
            data.kinds[kind] = data.kinds.get(kind, 0) + 1
        data.x.append(x)
        data.y.append(1 if is_ato else 0)
        data.settled.append(not is_ato and n_before >= SETTLED)


def collect(paths: Iterable[str | Path], *, kinds=TRAIN_KINDS, use_device_ids: bool = False) -> TrainingSet:
    """Replay each trace and return the training set of its scored sign-ins with history."""
    data = TrainingSet()
    for path in paths:
        recorder = _Recorder()
        labeller = _Labeller(data, recorder, kinds)
        replayer = Replayer(policy=recorder, on_scored=labeller, use_device_ids=use_device_ids)
        with open(path, newline="", encoding="utf-8") as fh:
            data.rows += replayer.run(fh).rows
    return data


def fit(data: TrainingSet, *, l2: float = 1e-3, epochs: int = 12, seed: int = 0) -> tuple[list, float, list, list]:
    """Return (weights, bias, means, scales) of a logistic regression on standardised features."""
    n, d = len(data.x), len(FEATURES)
    positives = sum(data.y)
    if positives in {0, n}:
        raise ValueError("training needs both legitimate sign-ins and takeovers")
    means = [sum(row[j] for row in data.x) / n for j in range(d)]
    scales = []
    for j in range(d):
        var = sum((row[j] - means[j]) ** 2 for row in data.x) / n
        scales.append(math.sqrt(var) if var > 1e-12 else 1.0)
    xs = [[(row[j] - means[j]) / scales[j] for j in range(d)] for row in data.x]
    # Attacks and legitimate sign-ins each carry half of the weight.
    w_pos, w_neg = n / (2.0 * positives), n / (2.0 * (n - positives))
    weights, bias = [0.0] * d, 0.0
    m, v, mb, vb = [0.0] * d, [0.0] * d, 0.0, 0.0
    lr, b1, b2, eps, step = 0.02, 0.9, 0.999, 1e-8, 0
    rng = random.Random(seed)
    order = list(range(n))
    batch = 256
    for _ in range(epochs):
        rng.shuffle(order)
        for start in range(0, n, batch):
            idx = order[start : start + batch]
            grad, gb = [0.0] * d, 0.0
            for i in idx:
                xi = xs[i]
                z = bias + sum(w * x for w, x in zip(weights, xi, strict=True))
                p = 1.0 / (1.0 + math.exp(-z)) if z > -35 else 0.0
                err = (p - data.y[i]) * (w_pos if data.y[i] else w_neg)
                gb += err
                for j in range(d):
                    grad[j] += err * xi[j]
            k = len(idx)
            step += 1
            for j in range(d):
                g = grad[j] / k + l2 * weights[j]
                m[j] = b1 * m[j] + (1 - b1) * g
                v[j] = b2 * v[j] + (1 - b2) * g * g
                weights[j] -= lr * (m[j] / (1 - b1**step)) / (math.sqrt(v[j] / (1 - b2**step)) + eps)
            gb /= k
            mb = b1 * mb + (1 - b1) * gb
            vb = b2 * vb + (1 - b2) * gb * gb
            bias -= lr * (mb / (1 - b1**step)) / (math.sqrt(vb / (1 - b2**step)) + eps)
    return weights, bias, means, scales


def _quantile_above(values: list[float], share: float) -> float:
    """Return the smallest threshold that at most ``share`` of ``values`` reach."""
    ordered = sorted(values, reverse=True)
    k = int(share * len(ordered))
    if k >= len(ordered):
        return ordered[-1]
    return math.nextafter(ordered[k], math.inf)


def train(
    data: TrainingSet, *, challenge_rate: float = 0.04, deny_rate: float = 0.0, description: str = ""
) -> LogisticModel:
    """Fit the model and set its thresholds on the training data; return it with its figures."""
    weights, bias, means, scales = fit(data)
    model = LogisticModel(tuple(weights), bias, tuple(means), tuple(scales), {}, {})
    scores = [model.log_odds(x) for x in data.x]
    settled = [s for s, ok in zip(scores, data.settled, strict=True) if ok]
    legit = [s for s, y in zip(scores, data.y, strict=True) if not y]
    if not settled:
        raise ValueError("training needs legitimate users with at least 10 earlier sign-ins")
    challenge = _quantile_above(settled, challenge_rate)
    strong = max(challenge, _quantile_above(settled, 0.01))
    # Both over every legitimate sign-in and over the settled ones: a long history does not make
    # the model's scores lower (the user prior and the login count pull both ways).
    deny = max(strong, _quantile_above(legit, deny_rate), _quantile_above(settled, deny_rate))
    thresholds = {"CHALLENGE": challenge, "CHALLENGE_STRONG": strong, "DENY": deny}
    pos, neg = ScoreHistogram(), ScoreHistogram()
    for s, y in zip(scores, data.y, strict=True):
        (pos if y else neg).add(s)
    attacks = [s for s, y in zip(scores, data.y, strict=True) if y]
    figures = {
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "trained_on": description,
        "rows_replayed": data.rows,
        "examples": len(data.x),
        "takeovers": dict(sorted(data.kinds.items())),
        "auc": round(roc_auc(pos, neg) or 0.0, 4),
        "settled_challenged": round(sum(s >= challenge for s in settled) / len(settled), 4),
        "legit_denied": round(sum(s >= deny for s in legit) / len(legit), 5),
        "settled_denied": round(sum(s >= deny for s in settled) / len(settled), 5),
        "takeovers_caught": round(sum(s >= challenge for s in attacks) / max(len(attacks), 1), 4),
    }
    return LogisticModel(tuple(weights), bias, tuple(means), tuple(scales), thresholds, figures)
