"""Every class of bad input gets a 4xx JSON error naming the problem; never a 500 or a trace."""

from __future__ import annotations

import pytest

from tests.fakes import fake_server
from tests.support import ROW, TOKEN


@pytest.fixture(scope="module")
def client():
    """The real app and payload checks, on fake models (a real uvicorn and model: tests/security)."""
    with fake_server(max_rows=5, max_body_bytes=2048) as (test_client, _):
        yield test_client


def _post(client, body, path="/predict", **kwargs):
    kwargs.setdefault("headers", {"content-type": "application/json"})
    return client.post(
        path,
        content=body if isinstance(body, (str, bytes)) else None,
        json=None if isinstance(body, (str, bytes)) else body,
        **kwargs,
    )


def test_valid_rows_are_scored(client):
    response = _post(client, {"data": [ROW, ROW]}, "/variant/A/predict")
    assert response.status_code == 200
    body = response.json()
    assert (body["variant"], body["version"], body["run_id"]) == ("A", "1", "run-1")
    assert body["predictions"] == pytest.approx([sum(ROW)] * 2)  # SumModel v1: each row's sum


def test_integers_are_numbers(client):
    assert _post(client, {"data": [[5, 3, 1, 0]]}).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"data": [[5.1, 3.5, 1.4]]}, 422, "data.0: 3 features; the model expects 4"),
        ({"data": [ROW, [1.0] * 5]}, 422, "data.1: 5 features"),
        ({"data": [[5.1, "x", 1.4, 0.2]]}, 422, "data.0.1: Input should be a valid number"),
        ({"data": [[5.1, "3.5", 1.4, 0.2]]}, 422, "data.0.1: Input should be a valid number"),
        ({"data": [[True, 3.5, 1.4, 0.2]]}, 422, "data.0.0: Input should be a valid number"),
        ({"data": [[5.1, None, 1.4, 0.2]]}, 422, "data.0.1"),
        ('{"data": [[5.1, NaN, 1.4, 0.2]]}', 422, "data.0.1: Input should be a finite number"),
        ('{"data": [[5.1, Infinity, 1.4, 0.2]]}', 422, "finite number"),
        ('{"data": [[5.1, 1e999, 1.4, 0.2]]}', 422, "finite number"),
        ({"data": []}, 422, "at least one row"),
        ({"data": [ROW] * 6}, 422, "6 rows; at most 5"),
        ({"data": ROW}, 422, "data.0: Input should be a valid array"),
        ({"rows": [ROW]}, 422, "body has none of data, dataframe_split, dataframe_records"),
        ("{not json", 422, "body is not valid JSON"),
        ("", 422, "body"),
        (b'{"data": [[5.1, 3.5, 1.4, 0.2]], "x": "\xff"}', 400, "body is not UTF-8 JSON"),
        ({"data": [[[5.1, 3.5, 1.4, 0.2]]]}, 422, "data.0.0: Input should be a valid number"),
    ],
)
def test_bad_input_is_a_422_naming_the_problem(client, body, status, message):
    for path in ("/predict", "/variant/B/predict"):
        response = _post(client, body, path)
        assert response.status_code == status, response.text
        assert message in response.json()["detail"]
        assert "Traceback" not in response.text


def test_rows_are_scored_alike_whichever_parser_reads_them(client):
    """Plain numbers take the fast parser; a huge integer sends the body to the strict one."""
    rows = [[5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3], [7, 3, 6, 2]]
    fast = _post(client, {"data": rows}, "/variant/A/predict").json()["predictions"]
    strict = _post(client, {"data": rows + [[1, 1, 1, 10**30]]}, "/variant/A/predict").json()["predictions"]
    assert strict[:3] == fast and len(strict) == 4


def test_body_over_the_limit_is_413(client):
    response = _post(client, {"data": [ROW] * 200})
    assert response.status_code == 413
    assert "exceeds 2048 bytes" in response.json()["detail"]


def test_unknown_alias_is_404(client):
    response = _post(client, {"data": [ROW]}, "/variant/C/predict")
    assert response.status_code == 404
    assert response.json()["detail"] == "unknown alias 'C'; known: A, B"


@pytest.mark.parametrize(
    "content_type",
    ["multipart/form-data; boundary=x", "application/x-www-form-urlencoded", "text/plain", "application/xml"],
)
@pytest.mark.parametrize("path", ["/predict", "/variant/A/predict", "/variant/A/reload"])
def test_bodies_declared_as_anything_but_json_are_415(client, path, content_type):
    response = client.post(
        path, content=b'{"data": [[5.1, 3.5, 1.4, 0.2]]}', headers={"content-type": content_type, "x-token": TOKEN}
    )
    assert response.status_code == 415, response.text
    assert response.json()["detail"].startswith(f"content type '{content_type.split(';')[0]}' is not accepted")
    documented = client.get("/openapi.json").json()["paths"][path.replace("/A/", "/{alias}/")]
    assert "415" in documented["post"]["responses"]


@pytest.mark.parametrize("content_type", [None, "application/json; charset=utf-8", "application/vnd.api+json"])
def test_json_or_an_undeclared_body_is_read(client, content_type):
    headers = {"content-type": content_type} if content_type else {}
    response = client.post("/predict", content=b'{"data": [[5.1, 3.5, 1.4, 0.2]]}', headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("name", "body"),
    [
        ("deep arrays", '{"data": ' + "[" * 1000 + "]" * 1000 + "}"),
        ("deep objects", '{"data": [[1, 2, 3, ' + '{"a":' * 250 + "1" + "}" * 250 + "]]}"),
        ("many keys", "{" + ", ".join(f'"k{i}": 0' for i in range(150)) + "}"),
        ("a huge number", '{"data": [[1e999999, 2, 3, 4]]}'),
        ("a long string", '{"data": [["' + "x" * 1900 + '", 2, 3, 4]]}'),
    ],
)
def test_json_bombs_within_the_size_limit_are_422(client, name, body):
    assert len(body) <= 2048, name
    response = _post(client, body)
    assert response.status_code == 422, (name, response.text)
    assert len(response.text) < 2000  # the error names the problem without echoing the bomb
