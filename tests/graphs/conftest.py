"""Clear the shared tools' log before each graph test."""

import pytest

from tests.graphs.tools import calls, spans


@pytest.fixture(autouse=True)
def _reset_tool_log():
    calls.clear()
    spans.clear()
