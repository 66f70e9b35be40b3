"""Launch and follow Dagster runs through the webserver's GraphQL API, as the UI does."""

from __future__ import annotations

import time
import warnings
from datetime import UTC, datetime

import httpx
from dagster_graphql import DagsterGraphQLClient

# dagster_graphql's own call into gql uses arguments gql deprecated: printed to every `./mlops up`
# and `demo` user, and not ours to change. Silenced around each call: a process-wide filter set at
# import is undone by libraries that reset the filters (MLflow, Dagster) before the demo's calls.
GQL_DEPRECATION = "Using variable_values and operation_name arguments"


def _quiet(call, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", GQL_DEPRECATION, DeprecationWarning)
        return call(*args, **kwargs)


LOCATION, REPOSITORY = "core", "__repository__"
DONE = {"SUCCESS", "FAILURE", "CANCELED"}

RUN_QUERY = """
query RunSteps($runId: ID!) {
  runOrError(runId: $runId) {
    ... on Run { status jobName tags { key value } stepStats { stepKey status startTime endTime } }
  }
}
"""

RUNS_QUERY = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter, limit: 20) {
    ... on Runs { results { runId jobName status creationTime startTime endTime tags { key value } } }
  }
}
"""


FAILURE_QUERY = """
query Failure($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename ... on ExecutionStepFailureEvent { error { message } } } }
  }
}
"""


class DagsterClient:
    def __init__(self, port: int):
        self._client = DagsterGraphQLClient("127.0.0.1", port_number=port)
        self._url = f"http://127.0.0.1:{port}/graphql"

    def _query(self, query: str, variables: dict) -> dict:
        response = httpx.post(self._url, json={"query": query, "variables": variables}, timeout=30)
        response.raise_for_status()
        return response.json()["data"]

    def submit(self, job: str, run_config: dict | None = None, tags: dict[str, str] | None = None) -> str:
        return _quiet(
            self._client.submit_job_execution,
            job,
            repository_location_name=LOCATION,
            repository_name=REPOSITORY,
            run_config=run_config or {},
            tags=tags,
        )

    def run_url(self, run_id: str) -> str:
        """The run's page in the Dagster UI."""
        return self._url.removesuffix("/graphql") + f"/runs/{run_id}"

    def reload_location(self) -> None:
        """Reload the code location, as the UI's Reload button does (a commit is picked up here)."""
        info = _quiet(self._client.reload_repository_location, LOCATION)
        if info.status.value != "SUCCESS":
            raise RuntimeError(f"reloading the code location failed: {info.message}")

    def wait(self, run_id: str, timeout_s: float = 300) -> str:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = _quiet(self._client.get_run_status, run_id).value
            if status in DONE:
                return status
            time.sleep(0.5)
        raise TimeoutError(f"run {run_id} not finished after {timeout_s:.0f}s")

    def run(self, run_id: str) -> dict:
        return self._query(RUN_QUERY, {"runId": run_id})["runOrError"]

    def failure(self, run_id: str) -> str:
        """Why a failed run failed: its first failed step's error, without the exception's class."""
        events = self._query(FAILURE_QUERY, {"runId": run_id})["logsForRun"].get("events", [])
        for event in events:
            if event["__typename"] == "ExecutionStepFailureEvent":
                message = event["error"]["message"].strip()
                kind, _, rest = message.partition(": ")
                return rest if rest and "." in kind and " " not in kind else message
        return "no step failed (see the run in the Dagster UI)"

    def step_times(self, run_id: str) -> dict[str, tuple[datetime, datetime]]:
        """Start and end of each finished step of a run, as UTC datetimes."""
        steps = {}
        for step in self.run(run_id)["stepStats"]:
            if step["startTime"] and step["endTime"]:
                steps[step["stepKey"]] = tuple(
                    datetime.fromtimestamp(step[key], UTC) for key in ("startTime", "endTime")
                )
        return steps

    def runs(self, job: str | None = None) -> list[dict]:
        """The newest runs (of one job), newest first, with their creation, start and end times."""
        run_filter = {"pipelineName": job} if job else {}
        return self._query(RUNS_QUERY, {"filter": run_filter})["runsOrError"]["results"]
