"""The quality gate's judgement, a plain function: the blocking check (`core_assets.checks`)
decides with it, and a registration's message says what it decided."""

from typing import Any

from core_assets.lib.metrics import passes, regression_by
from mlops_base.settings import LOWER_IS_BETTER, Settings


def judge(trained: dict[str, Any], settings: Settings) -> tuple[bool, list[str], dict[str, Any]]:
    """Whether the challenger passes, why (one reason per comparison), and the scores compared."""
    metric, threshold = settings.gate
    value = trained["metrics"].get(metric)
    scores: dict[str, Any] = {"metric": metric, "threshold": threshold, "challenger": value}
    if value is None:
        return False, [f"{metric} unavailable: the model gives no class probabilities"], scores
    bound = "<=" if metric in LOWER_IS_BETTER else ">="
    ok = passes(metric, value, threshold)
    reasons = [f"{metric} {value:.4f} {bound if ok else 'fails ' + bound} {threshold}"]
    champion = trained.get("champion")
    if settings.gate_max_regression is not None and champion is not None:
        champion_value = champion["metrics"].get(metric)
        scores.update(champion=champion_value, champion_version=champion["version"])
        if champion_value is None:
            reasons.append(f"champion not compared: {champion['error'] or f'no {metric}'}")
        else:
            worse = regression_by(metric, value, champion_value)
            within = worse <= settings.gate_max_regression
            ok = ok and within
            reasons.append(
                f"champion v{champion['version']} {metric} {champion_value:.4f}: challenger worse by {worse:.4f} "
                f"({'within' if within else 'over'} GATE_MAX_REGRESSION {settings.gate_max_regression})"
            )
    return ok, reasons, scores
