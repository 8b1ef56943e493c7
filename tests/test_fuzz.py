"""Property-based fuzzing of the whole HTTP API from its own OpenAPI schema (schemathesis
generates the requests, hypothesis drives them): whatever a client sends, nothing ends in 5xx.

schemathesis's pytest plugin does not run under pytest 9 here, so each operation's strategy
is driven by hypothesis directly.
"""

from typing import Any

import hypothesis
import schemathesis
from fastapi.testclient import TestClient
from pydantic import SecretStr

from bot.api import create_app
from bot.settings import Settings
from tests.conftest import FakeEmbedder

TOKEN = "fuzz-test-token-0123456"
EXAMPLES = 60


def _operations(app: Any) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    return [result.ok() for result in schema.get_all_operations()]


def test_no_request_ends_in_a_server_error(built: Settings, fake_embedder: FakeEmbedder) -> None:
    settings = built.model_copy(update={"staff_token": SecretStr(TOKEN), "rate_limit": 0})
    seen: dict[str, int] = {}
    with TestClient(create_app(settings, fake_embedder)) as client:  # runs the lifespan
        operations = _operations(client.app)
        for operation in operations:
            _fuzz(operation, seen)
    assert {"POST /api/chat", "GET /api/search", "POST /api/feedback"} <= set(seen)


def _fuzz(operation: Any, seen: dict[str, int]) -> None:
    """Up to EXAMPLES generated requests to one operation, with and without the staff token."""
    label = f"{operation.method.upper()} {operation.path}"

    @hypothesis.given(case=operation.as_strategy())
    @hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def fuzz(case: Any) -> None:
        for headers in ({}, {"Authorization": f"Bearer {TOKEN}"}):
            response = case.call(headers=headers)
            assert response.status_code < 500, (label, response.text[:300])
            seen[label] = seen.get(label, 0) + 1

    fuzz()
