"""A trial's verified figures: what the judge's verdicts on its best proposals say about it (the fidelity ladder).

Per trial, from the entries ``harness.judging`` keeps in ``extra.judged.<judge>`` (each a
``Judgement`` of one of its best distinct proposals, with the oracle's ``score``):

* ``best``: the best judged value among verdicts whose ``verified`` criterion holds (the
  task decides what verified means: valid, still the proposal after relaxing, …);
* ``n_judged``, ``n_verified``;
* ``sun``: verified crystals that are also ``stable`` and ``novel`` (unique: the judged
  proposals are distinct by construction) — the S.U.N. count;
* ``exploitation_gap``: how much better the oracle scored the trial's best proposal than
  the judge values it, positive when the proxy over-promised, in the objective's units;
* ``proxy_spearman``: rank correlation of score and judged value over the judged crystals
  (NaN below 3 crystals or without spread).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import spearmanr

VERIFIED, STABLE, NOVEL = "verified", "stable", "novel"


def verified_summary(entries: list[dict], direction: str) -> dict[str, float]:
    """The figures above from a trial's judged entries (``{"step", "score", **judgement_json}``)."""
    sign = 1.0 if direction == "min" else -1.0
    values = np.array([_number(e["value"]) for e in entries])
    scores = np.array([_number(e["score"]) for e in entries])
    verified = [bool(e["criteria"].get(VERIFIED)) for e in entries]
    good = [v for v, ok in zip(values, verified, strict=True) if ok and math.isfinite(v)]
    best_entry = min(range(len(entries)), key=lambda i: sign * scores[i])
    finite = np.isfinite(values) & np.isfinite(scores)
    rho = math.nan
    if finite.sum() >= 3 and np.ptp(values[finite]) > 0 and np.ptp(scores[finite]) > 0:
        rho = float(spearmanr(scores[finite], values[finite]).statistic)
    return {
        "best": (min(good) if direction == "min" else max(good)) if good else math.nan,
        "n_judged": float(len(entries)),
        "n_verified": float(sum(verified)),
        "sun": float(sum(ok and bool(e["criteria"].get(STABLE)) and bool(e["criteria"].get(NOVEL))
                         for e, ok in zip(entries, verified, strict=True))),
        "exploitation_gap": sign * (values[best_entry] - scores[best_entry]),
        "proxy_spearman": rho,
    }


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)
