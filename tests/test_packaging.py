"""The built wheel: one import package, ``mcploom``, holding every layer folder as a subpackage.

The wheel is built from a copy of the checkout's files (tracked, and untracked ones git does not
ignore), so stale ``build/`` output cannot hide a module missing from the package list.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("mcploom", "agents", "graphs", "mcp_servers", "rag", "local_models")
"""Folders at the repository root that the wheel maps into ``mcploom`` (``mcploom`` itself at its root)."""

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    for name in listed:
        if (REPO / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("mcploom-*.whl")
    return built


def _source_files() -> set[str]:
    """Every module and data file of the layers, as the path it must have inside the wheel."""
    expected = set()
    for layer in LAYERS:
        for path in (REPO / layer).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".toml") and "__pycache__" not in path.parts:
                inside = path.relative_to(REPO / layer).as_posix()
                expected.add(f"mcploom/{inside}" if layer == "mcploom" else f"mcploom/{layer}/{inside}")
    return expected


def test_the_wheel_installs_only_mcploom_at_the_top_level(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/", 1)[0] for name in names} == {"mcploom", "mcploom-0.1.0.dist-info"}
    missing = _source_files() - set(names)
    assert not missing, f"modules left out of the wheel (add their package to pyproject's packages): {sorted(missing)}"
    entry_points = zipfile.ZipFile(wheel).read("mcploom-0.1.0.dist-info/entry_points.txt").decode()
    assert "mcploom = mcploom.agents.cli:main" in entry_points


def test_the_installed_wheel_gives_the_front_door_and_no_agents_module(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    code = (
        "import importlib.util, sys\n"
        "from mcploom import Agent\n"
        "import mcploom.agents.agent as core, mcploom.mcp_servers.utility\n"
        "assert core.__file__.startswith(sys.argv[1]), core.__file__\n"
        "print(Agent.__name__, [n for n in ('agents', 'graphs', 'rag', 'local_models', 'mcp_servers')"
        " if importlib.util.find_spec(n) is not None])\n"
    )
    # The wheel's folder comes first on the path, and the working directory is not the checkout.
    env = {**os.environ, "PYTHONPATH": str(target)}
    result = subprocess.run(
        [sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Agent", "[]"]
