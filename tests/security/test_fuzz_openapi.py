"""Schemathesis against a real uvicorn model server (both aliases loaded from a real MLflow): every
operation of its OpenAPI, with schema-valid and schema-violating requests, every check schemathesis
has (no server error, status codes, content types and headers documented, responses conforming to
their schemas, valid data accepted, invalid data rejected); reload with a valid token for half the
cases and a generated one for the rest. At least 1,000 cases in all; none may fail a check."""

from __future__ import annotations

import gzip
import hashlib
from collections import Counter

import httpx
import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config import SchemathesisConfig

from mlops_base.settings import REPO_ROOT
from mlops_platform import processes
from tests.support import TOKEN, start_server

load_all_checks()
ALL_CHECKS = CHECKS.get_all()  # explicitly all, not the configured default set
# a CSV body's schema is a string: which strings are a valid table no schema can say, nor which v2
# tensors are (a shape's product must be its data's length): for those only whether data is
# accepted or rejected goes unchecked (no 500, statuses, answers still are)
DATA_CHECKS = {"negative_data_rejection", "positive_data_acceptance"}
LOOSE_BODY_CHECKS = [check for check in ALL_CHECKS if check.__name__ not in DATA_CHECKS]
CONFORMANCE_CHECKS = [
    check
    for check in ALL_CHECKS
    if check.__name__
    in {"not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance"}
]
INFER_BODY = {"inputs": [{"name": "input-0", "shape": [2, 4], "datatype": "FP64", "data": [5.1, 3.5, 1.4, 0.2] * 2}]}
OPEN_INFERENCE_OPENAPI = REPO_ROOT.parent / "shared" / "vendor" / "open-inference-protocol" / "open_inference_rest.yaml"
CASES_PER_MODE = 100  # per operation: schema-valid requests, and as many schema-violating ones
# a schema-violating body over MAX_BODY_BYTES is refused before it is read: 413 is a rejection too
REJECTIONS = ["400", "401", "403", "404", "405", "406", "409", "413", "415", "422", "428", "429", "5xx"]
CONFIG = SchemathesisConfig.from_dict({"checks": {"negative_data_rejection": {"expected-statuses": REJECTIONS}}})


@pytest.fixture(scope="module")
def fuzzed_server(mlflow_server, shared_model, tmp_path_factory):
    service = start_server(
        tmp_path_factory.mktemp("fuzz"),
        {
            "MLFLOW_TRACKING_URI": mlflow_server,
            "MODEL_NAME": shared_model.name,
            # generated tokens must not lock out the valid ones (429 has its own test)
            "RELOAD_MAX_FAILURES": "1000000",
        },
    )
    try:
        yield service
    finally:
        processes.stop(service)


def _checks(case) -> list:
    loose = case.media_type == "text/csv" or case.path.endswith("/infer")
    return LOOSE_BODY_CHECKS if loose else ALL_CHECKS


def _fuzz(operation, mode: GenerationMode, cases: Counter, checks=_checks, path: dict | None = None) -> None:
    """Up to CASES_PER_MODE generated requests of `mode` against one operation (fewer where its
    schema allows fewer: the GET operations have no parameters); `path` fixes its path parameters."""

    @settings(
        max_examples=CASES_PER_MODE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case) -> None:
        if case.path.endswith("/reload") and int(hashlib.sha256(repr(case).encode()).hexdigest(), 16) % 2:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {TOKEN}"}
        if path is not None:
            case.path_parameters = dict(path)
        cases[f"{operation.label} ({mode.value})"] += 1
        case.call_and_validate(timeout=60, checks=checks(case))

    try:
        run()
    except Unsatisfiable:
        assert mode is GenerationMode.NEGATIVE, f"no valid request for {operation.label}"  # nothing to violate


@pytest.mark.slow
def test_every_generated_request_gets_a_documented_answer(fuzzed_server):
    api = schemathesis.openapi.from_url(f"{fuzzed_server.url}/openapi.json", config=CONFIG)
    operations = [result.ok() for result in api.get_all_operations()]
    cases: Counter = Counter()
    for operation in operations:
        for mode in GenerationMode:
            _fuzz(operation, mode, cases)
    print(dict(cases))
    assert {label.rsplit(" (", 1)[0] for label in cases} == {operation.label for operation in operations}
    assert sum(cases.values()) >= 1000, cases


def _served_paths(document: dict, model_name: str, versions: list[str]) -> dict:
    """The vendored document's paths (templated `${NAME}` there) for this server's model and the
    versions it serves: any other name or version is a 404 the document does not list."""
    values = {"MODEL_NAME": [model_name], "MODEL_VERSION": ["A", "B", *versions]}
    paths = {}
    for path, item in document["paths"].items():
        for parameter in item.get("parameters", []):
            parameter["schema"]["enum"] = values[parameter["name"]]
        paths[path.replace("${", "{")] = item
    return {**document, "paths": paths}


@pytest.mark.slow
def test_the_open_inference_protocols_own_openapi_document_holds(fuzzed_server, shared_model):
    """Schemathesis on the protocol's OpenAPI document (vendored beside the repository, read in
    place): every route it lists answers as it says, for requests it calls valid (and, for infer,
    ones it calls invalid: its 400)."""
    if not OPEN_INFERENCE_OPENAPI.exists():
        pytest.skip(f"the vendored specification is not beside the repository ({OPEN_INFERENCE_OPENAPI})")
    document = _served_paths(
        yaml.safe_load(OPEN_INFERENCE_OPENAPI.read_text()), shared_model.name, shared_model.versions
    )
    api = schemathesis.openapi.from_dict(document, config=CONFIG)
    api.config.update(base_url=fuzzed_server.url)
    cases: Counter = Counter()
    for result in api.get_all_operations():
        operation = result.ok()
        # the document lists no 404: requests it calls invalid go to infer only, with a served name and
        # version (the body is what they violate; its 400 is listed)
        _fuzz(operation, GenerationMode.POSITIVE, cases, checks=lambda case: CONFORMANCE_CHECKS)
        if operation.method == "post":
            served = {"MODEL_NAME": shared_model.name, "MODEL_VERSION": "A"}
            _fuzz(operation, GenerationMode.NEGATIVE, cases, checks=lambda case: CONFORMANCE_CHECKS, path=served)
            valid = operation.Case(path_parameters=served, body=INFER_BODY, media_type="application/json")
            assert valid.call_and_validate(timeout=60, checks=CONFORMANCE_CHECKS).status_code == 200  # its answer too
    print(dict(cases))
    assert len({label.rsplit(" (", 1)[0] for label in cases}) == len(document["paths"]), cases


DEEP = "[" * 1000 + "1" + "]" * 1000
RECORD = '{"dataframe_records": [{"sepal_length": %s, "sepal_width": 1, "petal_length": 1, "petal_width": 1}]}'
SPLIT = '{"dataframe_split": {"columns": ["sepal_length", "sepal_width", "petal_length", "petal_width"], "data": [[%s, 1, 1, 1]]}}'  # noqa: E501
TENSOR = '{"inputs": [{"name": "x", "shape": [1, 4], "datatype": "FP64", "data": %s}]}'
GZIPPED = gzip.compress(b'{"data": [[5.1, 3.5, 1.4, 0.2]]}')
# bodies that once got a 500 (and their kind): each must get a 4xx naming the problem
SEEDS = [
    ("ragged tensor", "infer", TENSOR % "[[1, 2], [3]]", {}),
    ("mixed nesting", "infer", TENSOR % "[1, [2, 3], 4]", {}),
    ("values then lists", "infer", TENSOR % "[[1, 2], 3, 4]", {}),
    ("tensor nested 1,000 deep", "infer", TENSOR % DEEP, {}),
    (
        "a non-ASCII digit as the header length",
        "infer",
        TENSOR % "[1, 2, 3, 4]",
        {"Inference-Header-Content-Length": b"\xb2"},
    ),
    ("an object as the datatype", "infer", TENSOR.replace('"FP64"', '{"": null}') % "[1, 2, 3, 4]", {}),
    ("a 400-digit integer in a record", "/predict", RECORD % ("9" * 400), {}),
    ("a record's cell nested 1,000 deep", "/predict", RECORD % DEEP, {}),
    ("a split cell nested 1,000 deep", "/predict", SPLIT % DEEP, {}),
    ("rows nested 1,000 deep", "/invocations", f'{{"inputs": {DEEP}}}', {}),
    ("a 400-digit integer in rows", "/invocations", '{"inputs": [[%s, 1, 1, 1]]}' % ("9" * 400), {}),
    ("a 500 KB string", "/predict", RECORD % ('"' + "x" * 500_000 + '"'), {}),
    ("truncated gzip", "/predict", GZIPPED[:-10], {"Content-Encoding": "gzip"}),
    ("truncated gzip", "infer", GZIPPED[:-10], {"Content-Encoding": "gzip"}),
    ("corrupt gzip", "/invocations", b"\x1f\x8b" + b"\x00" * 30, {"Content-Encoding": "gzip"}),
]


@pytest.mark.parametrize(("kind", "route", "body", "headers"), SEEDS, ids=[f"{s[0]} ({s[1]})" for s in SEEDS])
def test_bodies_that_once_got_a_500_get_a_4xx_naming_the_problem(
    fuzzed_server, shared_model, kind, route, body, headers
):
    path = f"/v2/models/{shared_model.name}/infer" if route == "infer" else route
    answer = httpx.post(
        f"{fuzzed_server.url}{path}",
        content=body,
        headers={"content-type": "application/json", **headers},
        timeout=30,
    )
    assert 400 <= answer.status_code < 500, (kind, answer.status_code, answer.text[:300])
    assert "internal error" not in answer.text and len(answer.text) < 600, answer.text[:600]
    assert "Traceback" not in fuzzed_server.log_path.read_text()
