"""Every answer carries a request id: the caller's `x-request-id` when it is a sane token, else a new
one; errors included (the middleware is outermost)."""

from __future__ import annotations

import re

import pytest

from tests.fakes import fake_server
from tests.support import ROW


@pytest.fixture(scope="module")
def client():
    with fake_server(max_body_bytes=2048) as (test_client, _):
        yield test_client


def test_a_sane_caller_id_is_returned(client):
    answer = client.post("/predict", json={"data": [ROW]}, headers={"x-request-id": "release-7:a.b_c"})
    assert answer.status_code == 200 and answer.headers["x-request-id"] == "release-7:a.b_c"


@pytest.mark.parametrize("given", [None, "has space", "x" * 129, "a/b"])
def test_a_missing_or_odd_id_is_replaced_by_a_new_unique_one(client, given):
    headers = {} if given is None else {"x-request-id": given}
    ids = {client.get("/health", headers=headers).headers["x-request-id"] for _ in range(3)}
    assert len(ids) == 3 and all(re.fullmatch(r"[0-9a-f]{32}", rid) for rid in ids)


@pytest.mark.parametrize(("body", "status"), [(b'{"data": [[1]]}', 422), (b"{" + b" " * 4096 + b"}", 413)])
def test_errors_carry_the_id_too(client, body, status):
    answer = client.post(
        "/predict", content=body, headers={"content-type": "application/json", "x-request-id": "err-1"}
    )
    assert answer.status_code == status and answer.headers["x-request-id"] == "err-1"
