"""The demo's online experiment: champion and challenger answer real traffic, outcomes are fed back,
the evaluation layer judges them and its sensor promotes the challenger on the evidence.

The outcomes are simulated with known truth: the true class agrees with the champion's answer
with probability CHAMPION_ACCURACY and with the challenger's with CHALLENGER_ACCURACY, so the
challenger is truly better by their margin whatever the two models are.
"""

from __future__ import annotations

import random
import re
import secrets
import shutil
import time
from pathlib import Path

import httpx

from mlops_platform import layer_toggle
from mlops_platform.release_watch import served_version, wait_for

CHAMPION_ACCURACY, CHALLENGER_ACCURACY = 0.80, 0.95
# what the demo's env copy sets: an even split, decisions from 150 outcomes a side, promotion on
EXPERIMENT_SETTINGS = {
    "AB_TEST_PERCENT": "50",
    "EVALUATION_MIN_SAMPLES": "150",
    "EVALUATION_MIN_NEW_OUTCOMES": "100",
    "AUTO_PROMOTE": "true",
}
CLASSES = (0, 1, 2)
# the outcomes come from two labelling sources, each with its own feedback credential: a decision
# needs outcomes from EVALUATION_MIN_SOURCES (2) of them
SOURCES = ("labelling-team", "support-desk")


def feedback_credentials() -> dict[str, str]:
    """A fresh random token per source, and FEEDBACK_TOKEN naming them (`name:token,...`)."""
    return {source: secrets.token_urlsafe(32) for source in SOURCES}


def feedback_setting(tokens: dict[str, str]) -> str:
    return ",".join(f"{source}:{token}" for source, token in tokens.items())


def env_with_evaluation(repo_env_dir: Path, state_dir: Path) -> Path:
    """A copy of the env's folder with the evaluation layer on and EXPERIMENT_SETTINGS in its
    platform.env (the repo's own stays as it is)."""
    env_dir = state_dir / "env" / repo_env_dir.name
    shutil.copytree(repo_env_dir, env_dir, ignore=shutil.ignore_patterns("optional"))
    set_env_settings(env_dir, EXPERIMENT_SETTINGS)
    layer_toggle.apply(layer_toggle.plan(env_dir, "on", "evaluation"))
    return env_dir


def set_env_settings(env_dir: Path, values: dict[str, str]) -> None:
    """Set `values` in the env's platform.env (replacing a line that sets one)."""
    settings_file = env_dir / "platform.env"
    text = settings_file.read_text()
    for name, value in values.items():
        line = f"{name}={value}"
        text, found = re.subn(rf"^{name}=.*$", line, text, flags=re.MULTILINE)
        if not found:
            text += f"\n{line}\n"
    settings_file.write_text(text)


def _truth(prediction: int, accuracy: float, rng: random.Random) -> int:
    if rng.random() < accuracy:
        return prediction
    return rng.choice([c for c in CLASSES if c != prediction])


def run_experiment(
    server_url: str, rows: list[list[float]], tokens: dict[str, str], say, batch: int = 100, seed: int = 0
) -> dict:
    """Traffic and its outcomes in batches until the layer decides, each batch's outcomes sent by
    the next source in turn (`tokens`: its feedback credential); then wait for the promotion.
    Returns the final /evaluation."""
    rng = random.Random(seed)
    accuracy = {"A": CHAMPION_ACCURACY, "B": CHALLENGER_ACCURACY}
    champion_before, challenger = served_version(server_url, "A"), served_version(server_url, "B")
    say(
        f"experiment: champion A=v{champion_before} vs challenger B=v{challenger}, 50/50 by client; true "
        f"accuracy simulated at {CHAMPION_ACCURACY:.2f} vs {CHALLENGER_ACCURACY:.2f}"
    )
    started = time.monotonic()
    with httpx.Client(base_url=server_url, timeout=30) as client:
        for sent in range(batch, 40 * batch + 1, batch):
            outcomes = []
            for i in range(batch):
                row = rows[rng.randrange(len(rows))]
                answer = client.post("/predict", json={"data": [row]}, headers={"x-client-id": f"user-{sent + i}"})
                answer.raise_for_status()
                body = answer.json()
                truth = _truth(int(body["predictions"][0]), accuracy[body["variant"]], rng)
                outcomes.append({"prediction_id": answer.headers["x-prediction-id"], "label": truth})
            source = SOURCES[(sent // batch) % len(SOURCES)]
            credential = {"Authorization": f"Bearer {tokens[source]}"}
            client.post("/feedback", json=outcomes, headers=credential).raise_for_status()
            judged = client.get("/evaluation", headers=credential).json()
            comparison = judged["comparison"]
            say(
                f"  {sent:>5} predictions with outcomes: difference {_signed(comparison['difference'])} "
                f"{_interval(comparison)} -> {comparison['decision']}"
            )
            if comparison["decision"] != "not yet known":
                break
        decided = time.monotonic()
        say(f"evidence: {comparison['why']}")
        wait_for(
            "the evaluation layer's promotion",
            lambda: served_version(server_url, "A") == challenger,
            timeout_s=120,
        )
        say(
            f"promoted by the evaluation layer {time.monotonic() - decided:.1f}s after the decision "
            f"({time.monotonic() - started:.1f}s in all): champion A = v{challenger}"
        )
        return client.get("/evaluation", headers=credential).json()


def promotion_runs(dag) -> list[dict]:
    """promote_job runs the evaluation layer launched (its `mlops/trigger` tag)."""
    return [r for r in dag.runs("promote_job") if {"key": "mlops/trigger", "value": "evaluation"} in r["tags"]]


def _signed(value: float | None) -> str:
    return "(none yet)" if value is None else f"{value:+.3f}"


def _interval(comparison: dict) -> str:
    low, high = comparison["difference_interval"]
    return "[n too small]" if low is None else f"[{low:+.3f}, {high:+.3f}]"
