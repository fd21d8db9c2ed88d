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


@schema.parametrize()
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
    response = case.call_and_validate(checks=API_CHECKS)
    assert tracebacks.seen == [], tracebacks.seen
    apis = tuple(tag for tag in case.operation.tags or () for tag in tag.split(" / "))
    if case.method != "HEAD":  # a HEAD answer has no body to be in a format
        check_error(response.status_code, case.formatted_path, response.content, apis)
    if response.status_code >= 400 and not case.path.startswith("/_emulator"):
        assert stored(STORE) == before, "a rejected request stored something"
