"""schemathesis against the OpenAPI document: every operation, bodies generated from the
documented schemas (and negated ones). Every answer is documented (status, headers, a 405's
Allow), never a 5xx, no traceback in the log, each error in its API's format, and a rejected
request stores nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    status_code_conformance,
    unsupported_method,
)

from tests.fuzz.common import (
    CAMPAIGN,
    CASES,
    DERANDOMIZE,
    EXAMPLES,
    Tracebacks,
    check_error,
    fuzz_app,
    stored,
    watching_tracebacks,
)

APP, STORE = fuzz_app()
schema = schemathesis.openapi.from_asgi("/_emulator/schema/openapi.json", APP)
# The coverage phase (boundary values, wrong types and methods for every field: some 500 cases)
# runs in `make fuzz`; `make test` keeps to a few generated cases per operation, and
# tests/apis/test_openapi.py checks every wrong method's 405 and Allow.
schema.config.phases.coverage.enabled = CAMPAIGN
API_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    unsupported_method,
]


@pytest.fixture
def tracebacks() -> Iterator[Tracebacks]:
    yield from watching_tracebacks()


@schema.exclude(path="/_emulator/journal/stream").parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation(case: schemathesis.Case, tracebacks: Tracebacks) -> None:
    CASES["tried"] += 1
    before = stored(STORE)
    # The control plane's CSRF rule would answer a wrong method 403 before routing could say
    # 405: this header is what the console and the pytest plugin send.
    response = case.call_and_validate(checks=API_CHECKS, headers={"X-Emulator-Client": "fuzz"})
    assert tracebacks.seen == [], tracebacks.seen
    apis = tuple(tag for tag in case.operation.tags or () for tag in tag.split(" / "))
    if case.method != "HEAD":  # a HEAD answer has no body to be in a format
        check_error(response.status_code, case.formatted_path, response.content, apis)
    if response.status_code >= 400 and not case.path.startswith("/_emulator"):
        assert stored(STORE) == before, "a rejected request stored something"
