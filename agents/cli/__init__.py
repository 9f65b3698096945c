"""The ``mcploom`` command line (Typer + Rich): one module per command group, one error reporter
(:mod:`mcploom.agents.cli.console`)."""

from mcploom.agents.cli.app import app, main

__all__ = ["app", "main"]
