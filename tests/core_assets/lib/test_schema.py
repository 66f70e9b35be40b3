"""Schema drift: every dropped, added or retyped column named."""

from mlflow.models import infer_signature

from core_assets.lib.schema import schema_differences, signature_kinds
from tests.core_assets.lib.test_data import _mixed


def test_signature_kinds_read_back_what_training_recorded():
    signature = infer_signature(_mixed().drop(columns=["label"]).astype({"n": float}), [0])
    assert signature_kinds(signature) == {"n": "number", "s": "string", "b": "boolean"}


def test_each_difference_is_named():
    registered = {"n": "number", "s": "string", "b": "boolean"}
    current = {"n": "string", "s": "string", "extra": "number"}

    assert schema_differences(registered, current) == [
        "column 'b' (boolean) is missing",
        "column 'extra' (number) is new",
        "column 'n' was number, is now string",
    ]
    assert schema_differences(registered, dict(registered)) == []
