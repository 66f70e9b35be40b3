"""The champion (the version alias A names) scored on the challenger's test split."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from core_assets.lib.data import FeatureSet
from core_assets.lib.metrics import score
from mlops_base.aliases import Alias
from mlops_base.mlflow_client import first_line, use_fluent_api
from mlops_base.settings import Task
from mlops_base.skops_import import skops_io

if TYPE_CHECKING:
    from mlflow import MlflowClient


@dataclass(frozen=True)
class ChampionScore:
    version: str | None
    metrics: dict[str, float]
    error: str | None = None  # why it could not be scored (no champion yet, a changed schema, ...)

    def as_dict(self) -> dict:
        return asdict(self)


def native_model(model_uri: str):
    """The model as its flavour saved it (scikit-learn, LightGBM, ...), for predict_proba; pyfunc's
    wrapper only predicts."""
    import mlflow.pyfunc

    skops_io()  # before MLflow's loader imports skops (lean: 1.1 s less a run)
    pyfunc = mlflow.pyfunc.load_model(model_uri)
    try:
        return pyfunc.get_raw_model()
    except NotImplementedError:
        return pyfunc


def score_champion(client: MlflowClient, model_name: str, features: FeatureSet, task: Task) -> ChampionScore:
    from mlflow.exceptions import MlflowException

    try:
        version = client.get_model_version_by_alias(model_name, Alias.A.value).version
    except MlflowException:
        return ChampionScore(None, {}, f"{model_name} has no alias {Alias.A.value} (no champion yet)")
    use_fluent_api(client)
    try:
        model = native_model(f"models:/{model_name}/{version}")
        metrics, _ = score(model, features.x_test, features.y_test, task)
    except Exception as exc:  # a champion of another schema or library: not comparable, said so
        return ChampionScore(str(version), {}, f"v{version} cannot score this test split: {first_line(exc)}")
    return ChampionScore(str(version), metrics)
