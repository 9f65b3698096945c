"""The scripts in ``examples/`` run end to end on the bundled local model and print the right answer.

Each example runs as a newcomer would run it (``python examples/<name>.py`` from the repository
root, offline); the test checks the exit status and the number or fact in its ``answer:`` line.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

EXPECTED_ANSWERS = {
    "react.py": 7006652,
    "plan_execute.py": 491,
    "reflection.py": 12,
    "supervisor.py": 120,
    "debate.py": 443,
}
"""Each example and the number its answer must end on (17 * 23 + 100 = 491, sqrt(144) = 12, the
widgets line of the inventory file the supervisor example writes, 17 * 24 + 35 = 443). The last number, not any
number: "... is 491. Adding 100 to this result gives us 591." (seen) mentions 491 and is wrong."""


def final_number(answer: str) -> float | None:
    """The last number in ``answer`` ("7,006,652" and "12.0" read as numbers), or ``None``."""
    numbers = re.findall(r"-?\d[\d,]*(?:\.\d+)?", answer)
    return float(numbers[-1].replace(",", "")) if numbers else None


RUN_TIMEOUT_S = 540
"""One example takes 25-70 s on 2 idle cores; a loaded CI machine can be several times slower."""


@pytest.mark.parametrize("script", sorted(EXPECTED_ANSWERS))
def test_example_says_what_it_shows_and_how_to_run_it(script: str) -> None:
    docstring = ast.get_docstring(ast.parse((ROOT / "examples" / script).read_text()))
    assert docstring and f"python examples/{script}" in docstring


@pytest.mark.local_model
@pytest.mark.timeout(RUN_TIMEOUT_S + 60)
@pytest.mark.parametrize(("script", "answer"), sorted(EXPECTED_ANSWERS.items()))
def test_example_prints_the_right_answer(script: str, answer: int) -> None:
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, f"examples/{script}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert result.returncode == 0, f"{script} failed:\n{result.stderr[-3000:]}"
    answers = [line for line in result.stdout.splitlines() if line.startswith("answer:")]
    assert answers, f"{script} printed no answer line:\n{result.stdout[-3000:]}"
    assert final_number(answers[-1]) == answer, f"{script} answered {answers[-1]!r}; expected it to end on {answer}"
