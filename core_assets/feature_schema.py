"""What `features` records and checks of its columns: Dagster's column schema, and the changes
since the newest registered version's."""

from dagster import Failure, TableColumn, TableColumnConstraints, TableSchema

from core_assets.lib.data import FeatureSet, feature_kinds
from core_assets.lib.schema import schema_differences
from core_assets.release.registry import registered_schema
from core_assets.resources import MlflowRegistry
from mlops_base.mlflow_client import first_line


def column_schema(feature_set: FeatureSet, target_column: str) -> TableSchema:
    columns = [
        TableColumn(
            name,
            kind,
            constraints=TableColumnConstraints(
                nullable=bool(feature_set.x_train[name].isna().any() or feature_set.x_test[name].isna().any())
            ),
        )
        for name, kind in feature_kinds(feature_set).items()
    ]
    target = TableColumn(target_column, str(feature_set.y_train.dtype), description="target")
    return TableSchema(columns=[*columns, target])


def schema_changes(registry: MlflowRegistry, feature_set: FeatureSet) -> str | None:
    """What changed since the newest registered version's schema, or None."""
    from mlflow.exceptions import MlflowException

    try:
        registered = registered_schema(registry.client(), registry.model_name)
    except MlflowException as exc:
        raise Failure(
            description=f"registry unreachable while reading the registered schema: {first_line(exc)}"
        ) from exc
    if registered is None:
        return None
    version, kinds = registered
    differences = schema_differences(kinds, feature_kinds(feature_set))
    if not differences:
        return None
    return f"columns differ from {registry.model_name} v{version}'s: " + "; ".join(differences)
