"""Where the CLI writes, and the one way it reports a user's error.

The answer and results go to stdout (:data:`out`); progress, prompts and errors to stderr
(:data:`err`). A problem the user can fix, from any command and any layer (a config error, a
model that cannot load, an index that cannot open, a bad option value), is one plain line,
``Error: <message>``, with Rich markup off, so text such as ``mcploom[rag]`` or ``[models]`` in
a message prints as written, and exit code 1. (Click's own usage errors, such as an unknown
option, keep click's format and exit code 2.)
"""

from __future__ import annotations

from types import TracebackType
from typing import NoReturn

import typer
from rich.console import Console

__all__ = ["err", "fail", "out", "user_errors"]

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Print ``Error: <message>`` on stderr as one plain line and exit with code 1."""
    err.print(f"Error: {' '.join(message.split())}", style="red", markup=False, highlight=False)
    raise typer.Exit(1)


class user_errors:
    """Turn errors a user can fix into :func:`fail`, not a traceback: every command runs in one.

    Example:
        >>> with user_errors():  # doctest: +SKIP
        ...     Agent(pattern="nope")
    """

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool:
        if exc is None:
            return False
        from mcploom.agents.errors import McploomError
        from mcploom.local_models.errors import ModelLoadError
        from mcploom.rag.errors import RetrievalError

        if isinstance(exc, McploomError | ModelLoadError | RetrievalError):
            fail(str(exc))
        return False
