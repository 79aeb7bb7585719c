"""Schemathesis against the app's own OpenAPI document: no request it describes is a 5xx.

Every operation gets generated requests, valid and invalid ones (Hypothesis, a bounded number
of examples, derandomized so a failure repeats). Operations on one space also get the replayable
space's real id and the host's real token, so the deep paths (files, transcripts, visibility)
run too, not only their 404s.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis.configuration import set_hypothesis_home_dir
from schemathesis import APIOperation
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode

from tests.replay.conftest import Replay

EXAMPLES = 12
BUDGET_S = 90  # the suite's goal is under a minute on an idle machine; this is a ceiling


def test_no_request_the_schema_describes_is_a_server_error(replay: Replay) -> None:
    schema = schemathesis.openapi.from_url(f"{replay.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert {
        "/api/replays",
        "/api/spaces/{space_id}/replay",
        "/api/spaces/{space_id}/audio",
        "/api/spaces/{space_id}/peaks.json",
        "/api/spaces/{space_id}/captions.vtt",
        "/api/spaces/{space_id}/transcript.{fmt}",
        "/api/spaces/{space_id}/transcript/visibility",
        "/api/search",
    } <= paths

    started = time.monotonic()
    run = Run(replay)
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run.exercise(operation, mode)
    elapsed = time.monotonic() - started
    assert not run.failures, "\n".join(run.failures[:10])
    assert run.calls > 300, run.unsatisfiable
    assert elapsed < BUDGET_S, f"the run took {elapsed:.0f} s"


class Run:
    def __init__(self, replay: Replay) -> None:
        self.replay = replay
        self.calls = 0
        self.failures: list[str] = []
        self.unsatisfiable: list[str] = []

    def exercise(self, operation: APIOperation, mode: GenerationMode) -> None:
        # Joining and WebRTC offers open real rooms and peer connections: the live suite
        # covers them; here they get generated ids only.
        live_only = operation.path.endswith(("/rtc", "/join"))
        real_ids = "{space_id}" in operation.path and not live_only

        @hypothesis.settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        )
        @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case) -> None:
            self.call(operation, case)
            if real_ids:
                self.call(operation, self.on_the_replay(case))

        try:
            run()
        except hypothesis.errors.Unsatisfiable:
            # Nothing in the operation can be invalid (a lone string path parameter).
            assert mode is GenerationMode.NEGATIVE, operation.label
            self.unsatisfiable.append(operation.label)

    def on_the_replay(self, case: schemathesis.Case) -> schemathesis.Case:
        """The same request on the replayable space, as its host."""
        assert isinstance(case.path_parameters, dict)
        case.path_parameters["space_id"] = self.replay.space_id
        if "fmt" in case.path_parameters:
            case.path_parameters["fmt"] = "json"
        case.headers = {
            **(case.headers or {}),
            "Authorization": f"Bearer {self.replay.host_token}",
        }
        return case

    def call(self, operation: APIOperation, case: schemathesis.Case) -> None:
        self.calls += 1
        response = case.call(base_url=self.replay.url, timeout=20)
        try:
            case.validate_response(response, checks=[not_a_server_error])
        except (AssertionError, BaseExceptionGroup) as exc:
            self.failures.append(f"{operation.label}: {exc}")


@pytest.fixture(autouse=True)
def _hypothesis_home(tmp_path: Path) -> Iterator[None]:
    # Hypothesis keeps caches under ./.hypothesis unless told otherwise: keep them in tmp.
    set_hypothesis_home_dir(tmp_path / "hypothesis")
    yield
    set_hypothesis_home_dir(None)


@pytest.fixture(autouse=True)
def _visibility_back(replay: Replay) -> object:
    yield None
    # Generated requests may have made the transcript public with the real host token.
    replay.server.app.state.catalog.set_transcript_public(replay.space_id, False)
