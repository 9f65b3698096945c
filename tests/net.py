"""Helpers for tests that start real servers on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import IO


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """Terminate a server process, killing it if it has not exited within 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def wait_listening(port: int, process: subprocess.Popen, log: IO[bytes], what: str, timeout: float = 30.0) -> None:
    """Wait until ``process`` listens on 127.0.0.1:``port``; raise with its ``log`` if it exits
    first or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"{what} did not listen on {port}: {log.read()[-2000:]!r}") from None
            time.sleep(0.1)
