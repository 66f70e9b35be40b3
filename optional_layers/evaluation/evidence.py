"""What a decision of the online evaluation may rest on. Outcomes are labels someone sends: a
source (a feedback credential) that labels wrongly, by mistake or on purpose, must not be able to
promote or roll back a model on its own. So the judgement counts routed traffic only, needs
outcomes from several sources, counts no source for more than a share of the outcomes, and
decides only when the decision holds without any one source's outcomes (leave-one-source-out)."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from optional_layers.evaluation.judgement import Decision, Judgement
from optional_layers.evaluation.store import Outcome


@dataclass(frozen=True)
class Evidence:
    """What a decision may rest on: outcomes of routed traffic only (a caller who names the variant
    chose it: no randomised comparison), from at least `min_sources` sources (feedback credentials),
    none counting for more than `max_source_share` of the outcomes judged."""

    min_sources: int = 1
    max_source_share: float = 1.0

    def admitted(self, outcomes: list[Outcome]) -> tuple[list[Outcome], dict[str, dict[str, int]]]:
        """The outcomes judged (each source's earliest, up to its cap) and, per source, how many it
        sent and how many count."""
        sent: dict[str, list[Outcome]] = defaultdict(list)
        for outcome in outcomes:
            sent[outcome.source].append(outcome)
        counted = {source: len(items) for source, items in sent.items()}
        if self.max_source_share < 1 and len(sent) > 1:  # a lone source is held back by min_sources
            ratio = self.max_source_share / (1 - self.max_source_share)
            while True:  # cap the largest by the others' counted outcomes until no source exceeds its share
                largest = max(counted, key=counted.get)
                cap = math.floor(ratio * (sum(counted.values()) - counted[largest]) + 1e-9)  # 0.6 / 0.4 is 1.4999...
                if counted[largest] <= cap:
                    break
                counted[largest] = cap
        kept = [o for source, items in sent.items() for o in items[: counted[source]]]
        kept.sort(key=lambda o: o.received_at)
        return kept, {source: {"sent": len(sent[source]), "counted": counted[source]} for source in sorted(sent)}

    def decision(
        self, judged: Judgement, sources: dict[str, dict[str, int]], without: Callable[[str], Judgement]
    ) -> tuple[Decision, str]:
        """The decision the evidence allows and why: the judgement's, only when enough sources count
        and it holds without each one of them (`without(source)`: the judgement of the others), so
        that no single source, however it labels, can make a decision the others do not support."""
        lacking = self.lacking(sources)
        if lacking is not None:
            return "not yet known", f"{lacking}; {judged.why}"
        if judged.decision != "not yet known":
            for source in (s for s, seen in sources.items() if seen["counted"]):
                alone = without(source)
                if alone.decision != judged.decision:
                    return "not yet known", (
                        f"{judged.why}; without the outcomes of source {source!r} the evidence says "
                        f"{alone.decision!r}: a decision must hold without any one source"
                    )
        return judged.decision, judged.why

    def lacking(self, sources: dict[str, dict[str, int]]) -> str | None:
        """Why the evidence cannot decide anything yet, or None."""
        counting = [source for source, seen in sources.items() if seen["counted"]]
        if len(counting) >= self.min_sources:
            return None
        named = ", ".join(counting) or "none"
        return (
            f"outcomes from {len(counting)} source(s) ({named}); a decision needs EVALUATION_MIN_SOURCES="
            f"{self.min_sources}, none above EVALUATION_MAX_SOURCE_SHARE={self.max_source_share:g}"
        )
