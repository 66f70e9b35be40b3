"""An always-valid drift test for one column: does the live stream still follow the reference's
bin probabilities, however often it is looked at?

In plain words. Each live value falls in one bin of the reference (a quantile bin, a category, the
missing bin, the unseen bin). If nothing changed, the bins' frequencies are the reference's. The
test keeps a running bet against that: a betting score that starts at 1 and, while nothing
changed, is on average never expected to grow (a nonnegative martingale). By Ville's inequality
the chance that it *ever* reaches 1/alpha, over an unbounded stream and any number of looks, is at
most alpha. The bet is the Bayes factor of "the bins have some other frequencies" (a Dirichlet(1/2)
mixture over them, which needs no guess of how they moved) against "the reference's".

A change that starts late would hide under all the rows before it, so the score is a mixture of
bets started at every look j, weighted 1/((j+1)(j+2)) (the weights sum to 1, so the mixture is still
a martingale). A bet whose value falls below exp(PRUNE_LOG) is dropped: that only lowers the
score, so the guarantee holds; newer bets take over. Across the columns of a version the budget
is split (Bonferroni): each column alarms at `columns / alpha`, so the chance of any false alarm in
the whole family stays under alpha.

On a huge stream a tiny, harmless shift is eventually significant. A column alarms only when its
shift is also large: the population stability index (PSI) between the reference and the rows of
the bet that carries the evidence is at least `min_effect`.

References: Ville (1939); Ramdas, Grünwald, Vovk, Shafer, "Game-theoretic statistics and safe
anytime-valid inference", Statistical Science 38(4), 2023; Shin, Ramdas, Rinaldo, "E-detectors: a
nonparametric framework for sequential change detection", NEJSDS, 2023 (bets started at every time).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.special import gammaln

PRIOR = 0.5  # Dirichlet(1/2) mixture: Jeffreys' prior over the live frequencies
PRUNE_LOG = -30.0  # a bet this far below 1 is dropped (conservative: the score only falls)
MAX_BETS = 64  # live bets kept at most (the weakest dropped first, again only lowering the score)


def smoothed(shares: np.ndarray, rows: int) -> np.ndarray:
    """Bin probabilities from a reference's shares of `rows` rows, none zero: (count + 1/2) / (rows
    + K/2), so a bin the reference never saw (e.g. an unseen category) is rare, not impossible."""
    counts = np.asarray(shares, dtype=np.float64) * rows
    return (counts + 0.5) / (rows + 0.5 * counts.size)


def psi(reference: np.ndarray, counts: np.ndarray) -> float:
    """Population stability index of live `counts` against `reference` probabilities (the live
    frequencies smoothed as the reference's are)."""
    live = (counts + 0.5) / (counts.sum() + 0.5 * counts.size)
    return float(np.sum((live - reference) * np.log(live / reference)))


def log_bayes_factors(counts: np.ndarray, log_reference: np.ndarray) -> np.ndarray:
    """log of the Dirichlet(PRIOR) mixture's likelihood of each row of `counts` (one per bet)
    over the reference's."""
    k, n = counts.shape[1], counts.sum(axis=1)
    mixture = gammaln(k * PRIOR) - gammaln(k * PRIOR + n) + gammaln(PRIOR + counts).sum(axis=1) - k * gammaln(PRIOR)
    return mixture - counts @ log_reference


@dataclass
class ColumnTest:
    """One column's test. `update` takes the counts per bin of the rows since the last look."""

    reference: np.ndarray  # bin probabilities, none zero (`smoothed`)
    log_threshold: float  # log(columns / alpha)
    min_effect: float  # PSI
    looks: int = 0
    rows: int = 0
    log_score: float = -math.inf
    alarmed_at: int | None = None  # the row count of the first look that alarmed
    # the live bets: each one's log weight, its rows' counts per bin, its log value
    weights: np.ndarray = field(default_factory=lambda: np.zeros(0))
    counts: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))

    def __post_init__(self) -> None:
        self._log_reference = np.log(self.reference)
        self.counts = np.zeros((0, self.reference.size))
        self._leading: int | None = None  # the bet that carries the most evidence

    @property
    def effect(self) -> float:
        """The PSI of the rows of the leading bet against the reference (0 with no bet): computed
        when read, not at every look (the decision reads it only once the evidence is there)."""
        return 0.0 if self._leading is None else psi(self.reference, self.counts[self._leading])

    def update(self, counts: np.ndarray) -> bool:
        """One look: the new rows' counts per bin. True once the column has alarmed."""
        counts = np.asarray(counts, dtype=np.float64)
        rows = int(counts.sum())
        if rows == 0:
            return self.alarmed_at is not None
        j = self.looks
        self.looks, self.rows = j + 1, self.rows + rows
        self.weights = np.append(self.weights, -math.log((j + 1) * (j + 2)))  # a bet from this look on
        self.counts = np.vstack([self.counts, np.zeros_like(counts)]) + counts
        values = log_bayes_factors(self.counts, self._log_reference)
        kept = values > PRUNE_LOG
        if kept.sum() > MAX_BETS:
            kept &= self.weights + values >= np.sort(self.weights + values)[-MAX_BETS]
        if not kept.all():
            self.weights, self.counts, values = self.weights[kept], self.counts[kept], values[kept]
        if not values.size:
            self.log_score, self._leading = -math.inf, None
            return self.alarmed_at is not None
        weighted = self.weights + values
        self.log_score = float(np.logaddexp.reduce(weighted))
        self._leading = int(np.argmax(weighted))
        if self.alarmed_at is None and self.log_score >= self.log_threshold and self.effect >= self.min_effect:
            self.alarmed_at = self.rows
        return self.alarmed_at is not None


def log_threshold(columns: int, alpha: float) -> float:
    """Each of `columns` tests alarms at columns / alpha: any false alarm in the family <= alpha."""
    return math.log(columns / alpha)
