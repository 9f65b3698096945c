"""End-to-end run time of each agent pattern on the bundled local model: the scripts in
``examples/`` (real MCP servers, the 0.5B GGUF model on CPU), each run ``--runs`` times as a
newcomer runs it, in rotating order. Reports the median wall time (process start to exit, so it
includes loading the model and starting the servers) and how many runs printed the right answer
(the final number ``tests/test_examples.py`` checks).

Run it with ``python -m benchmarks.pattern_runs [--runs N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from benchmarks._common import hardware
from tests.test_examples import EXPECTED_ANSWERS, ROOT, RUN_TIMEOUT_S, final_number


def run_once(script: str) -> tuple[float, bool]:
    """Seconds the example took, and whether its last ``answer:`` line matched."""
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "HF_HUB_OFFLINE": "1"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, f"examples/{script}"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    elapsed = time.perf_counter() - started
    answers = [line for line in result.stdout.splitlines() if line.startswith("answer:")]
    right = result.returncode == 0 and bool(answers) and final_number(answers[-1]) == EXPECTED_ANSWERS[script]
    return elapsed, right


def measure(runs: int) -> dict[str, list[tuple[float, bool]]]:
    scripts = sorted(EXPECTED_ANSWERS)
    results: dict[str, list[tuple[float, bool]]] = {script: [] for script in scripts}
    for i in range(runs):
        for script in scripts[i % len(scripts) :] + scripts[: i % len(scripts)]:
            results[script].append(run_once(script))
    return results


def render(results: dict[str, list[tuple[float, bool]]], machine: str) -> str:
    lines = [
        "## End-to-end pattern runs on the local model (`benchmarks/pattern_runs.py`)",
        "",
        f"Hardware: {machine}. Model: qwen2.5-coder-0.5b Q4_K_M on CPU. "
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        "| example | runs | median s | min s | max s | right answers |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for script, samples in results.items():
        times = [t for t, _ in samples]
        right = sum(ok for _, ok in samples)
        lines.append(
            f"| `examples/{script}` | {len(samples)} | {statistics.median(times):.1f} | {min(times):.1f} "
            f"| {max(times):.1f} | {right}/{len(samples)} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    machine = hardware()
    print(render(measure(args.runs), machine))


if __name__ == "__main__":
    main()
