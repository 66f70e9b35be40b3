"""What the model server agrees to load. Whoever can write the MLflow registry (MLflow has no
authentication unless its basic-auth app is used) chooses the artifacts a replica loads within
seconds of an alias move; loading must therefore never run the artifact's code:

- scikit-learn and LightGBM models are read by the server itself: skops files with the types they
  name checked against the platform's allowlist (never the list the artifact carries), LightGBM
  boosters from their text format;
- pickle and cloudpickle (which run code when read) only with MODEL_ALLOW_PICKLE=true;
- any other flavour only when MODEL_ALLOWED_FLAVOURS names it (MLflow's pyfunc loader then reads it:
  the flavour's own code, and whatever code the artifact brings);
- a version without a logged digest only with MODEL_ALLOW_UNVERIFIED=true.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_base.settings import Settings
from mlops_base.skops_import import skops_io
from serving.runtimes.base import ModelLoadError

# the estimators' and transformers' packages whose classes a skops file may name; skops itself
# already trusts the common scikit-learn and numpy types and reports only the others
TRUSTED_PACKAGES = ("sklearn.", "lightgbm.", "xgboost.")
TRUSTED_TYPES = frozenset({"numpy.dtype", "collections.OrderedDict", "collections.defaultdict"})
NATIVE_FLAVOURS = frozenset({"sklearn", "lightgbm", "xgboost"})  # read by the server itself, safely
# XGBoost's classes the server builds before reading the model's own format (UBJSON or JSON) into one
XGBOOST_CLASSES = ("xgboost.sklearn.XGBClassifier", "xgboost.sklearn.XGBRegressor")
PICKLE_WARNING = "anyone who can write the registry can run code in the model server"


def trusted(type_name: str) -> bool:
    """A class (CamelCase) of the trusted packages, or one of the few other types models hold: never
    a function (a FunctionTransformer naming `builtins.eval`), nor another package's class."""
    if type_name in TRUSTED_TYPES:
        return True
    last = type_name.rsplit(".", 1)[-1]
    return type_name.startswith(TRUSTED_PACKAGES) and last[:1].isupper()


@dataclass(frozen=True)
class LoadPolicy:
    allow_pickle: bool = False
    allowed_flavours: frozenset[str] = NATIVE_FLAVOURS
    allow_unverified: bool = False

    @classmethod
    def of(cls, settings: Settings) -> LoadPolicy:
        flavours = frozenset(f.strip() for f in settings.model_allowed_flavours.split(",") if f.strip())
        return cls(settings.model_allow_pickle, flavours, settings.model_allow_unverified)

    def check_flavour(self, flavour: str, label: str) -> None:
        if flavour not in self.allowed_flavours:
            allowed = ", ".join(sorted(self.allowed_flavours))
            raise ModelLoadError(
                f"{label}: flavour {flavour!r} is not in MODEL_ALLOWED_FLAVOURS ({allowed}); refused (loading it "
                "may run the artifact's code)"
            )

    def skops_types(self, path: Path, label: str) -> list[str]:
        """The types the skops file names beyond skops' own trusted ones, all on the allowlist;
        ModelLoadError naming the others."""
        named = skops_io().get_untrusted_types(file=path)
        refused = sorted(t for t in named if not trusted(t))
        if refused:
            raise ModelLoadError(
                f"{label}: its skops file names types outside the platform's allowlist: {', '.join(refused[:5])}"
                f"{' ...' if len(refused) > 5 else ''}; refused"
            )
        return named

    def load_serialized(self, path: Path, serialization: str, label: str) -> Any:
        """A scikit-learn-API model saved by MLflow's sklearn or lightgbm flavour."""
        if serialization == "skops":
            return skops_io().load(path, trusted=self.skops_types(path, label))
        if serialization not in ("pickle", "cloudpickle"):
            raise ModelLoadError(f"{label}: unknown serialization format {serialization!r}")
        if not self.allow_pickle:
            raise ModelLoadError(
                f"{label} is a {serialization} file: refused (set MODEL_ALLOW_PICKLE=true only if {PICKLE_WARNING}"
                " is acceptable; log models with serialization_format='skops')"
            )
        if serialization == "cloudpickle":
            import cloudpickle

            with path.open("rb") as file:
                return cloudpickle.load(file)
        with path.open("rb") as file:
            return pickle.load(file)

    def load_native(self, local: Path, meta: dict, flavour: str, label: str) -> Any:
        """The model of a flavour the server reads itself (NATIVE_FLAVOURS)."""
        conf = meta["flavors"][flavour]
        if flavour == "lightgbm" and conf.get("model_class", "lightgbm.basic.Booster") == "lightgbm.basic.Booster":
            import lightgbm

            return lightgbm.Booster(model_file=str(local / conf["data"]))  # LightGBM's text format: no code
        if flavour == "xgboost":
            return self.load_xgboost(local / conf["data"], conf, label)
        path = local / (conf["pickled_model"] if flavour == "sklearn" else conf["data"])
        return self.load_serialized(path, conf.get("serialization_format", "cloudpickle"), label)

    @staticmethod
    def load_xgboost(path: Path, conf: dict, label: str) -> Any:
        """An XGBoost scikit-learn-API model in XGBoost's own format: data, never code."""
        model_class, model_format = conf.get("model_class"), conf.get("model_format", "xgb")
        if model_class not in XGBOOST_CLASSES or model_format not in ("ubj", "json"):
            raise ModelLoadError(
                f"{label}: an XGBoost {model_class} in format {model_format!r}; the server reads "
                f"{' and '.join(XGBOOST_CLASSES)} saved as ubj or json (mlflow.xgboost.log_model(model_format='ubj'))"
            )
        import xgboost

        model = getattr(xgboost, model_class.rsplit(".", 1)[1])()
        model.load_model(str(path))
        return model
