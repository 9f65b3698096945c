"""The files server against hostile trees: FIFOs, pathological globs, racing swaps and hard links.

Each test calls the tools in-process (``await server.call_tool(...)``) on a real temporary tree.
The FIFO tests bound every call with a watchdog, so a regression fails in seconds instead of
hanging the suite.
"""

from __future__ import annotations

import os
import stat
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from mcploom.mcp_servers._sandbox import PathPolicyError, Sandbox
from mcploom.mcp_servers.files import COMMAND, create_server

CALL_LIMIT_S = 3.0

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs POSIX FIFOs, links and dir_fd calls")


@contextmanager
def _unstuck(fifos: list[Path]) -> Iterator[Callable[[], bool]]:
    """Bound a call that might block on ``fifos``; yields ``stuck()``, true if the call had to be freed.

    A tool runs in a worker thread that cancellation cannot interrupt, so a timeout alone would
    wait forever. After ``CALL_LIMIT_S`` the watchdog opens each FIFO for writing, which releases
    a reader blocked in ``open`` (it then reads end-of-file), so the call returns and the test fails.
    """
    done = threading.Event()
    stuck = threading.Event()

    def watchdog() -> None:
        if done.wait(CALL_LIMIT_S):
            return
        stuck.set()
        while not done.is_set():
            for fifo in fifos:
                try:
                    os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:  # no reader right now
                    pass
            done.wait(0.05)

    thread = threading.Thread(target=watchdog, daemon=True)
    thread.start()
    try:
        yield stuck.is_set
    finally:
        done.set()
        thread.join()


async def _bounded(call: Callable[[], Awaitable[Any]], fifos: list[Path]) -> Any:
    """Run ``call``; fail if it blocked (the watchdog had to free it). A ``ToolError`` is returned, not raised."""
    with _unstuck(fifos) as stuck:
        started = time.monotonic()
        try:
            result: Any = await call()
        except ToolError as exc:
            result = exc
        elapsed = time.monotonic() - started
    assert not stuck(), f"the call blocked on a FIFO for {elapsed:.1f} s"
    return result


# -- 1. FIFOs and other special files -------------------------------------------------------


@pytest.fixture
def fifo_root(files_root: Path) -> Path:
    """``files_root`` plus a FIFO at the top, one in ``docs``, and a symlink (inside) to the first."""
    os.mkfifo(files_root / "pipe")
    os.mkfifo(files_root / "docs" / "pipe.md")
    os.symlink("pipe", files_root / "pipe_link")
    return files_root


async def test_read_text_refuses_a_fifo_without_blocking(fifo_root: Path) -> None:
    server = create_server([fifo_root])
    error = await _bounded(lambda: server.call_tool("read_text", {"path": "pipe"}), [fifo_root / "pipe"])
    assert isinstance(error, ToolError)
    assert "'pipe' is a FIFO (named pipe), not a regular file" in str(error)


async def test_edit_through_a_link_to_a_fifo_refuses_without_blocking(fifo_root: Path) -> None:
    server = create_server([fifo_root])
    error = await _bounded(
        lambda: server.call_tool("edit", {"path": "pipe_link", "old_text": "a", "new_text": "b"}),
        [fifo_root / "pipe"],
    )
    assert isinstance(error, ToolError) and "FIFO" in str(error)
    assert stat.S_ISFIFO(os.lstat(fifo_root / "pipe").st_mode)


async def test_text_search_skips_fifos_without_blocking(fifo_root: Path) -> None:
    server = create_server([fifo_root])
    fifos = [fifo_root / "pipe", fifo_root / "docs" / "pipe.md"]
    found = await _bounded(lambda: server.call_tool("search", {"pattern": "**", "text": "install"}), fifos)
    assert found.structured_content["matches"] == [{"path": "docs/guide.md", "line": 2, "text": "Install with pip."}]
    names = await _bounded(lambda: server.call_tool("search", {"pattern": "*.md"}), fifos)
    assert [m["path"] for m in names.structured_content["matches"]] == ["docs/api.md", "docs/guide.md", "docs/pipe.md"]


async def test_list_dir_shows_a_fifo_as_other_without_opening_it(fifo_root: Path) -> None:
    server = create_server([fifo_root])
    listing = await _bounded(lambda: server.call_tool("list_dir", {"path": "."}), [fifo_root / "pipe"])
    kinds = {entry["name"]: (entry["type"], entry["size"]) for entry in listing.structured_content["entries"]}
    assert kinds["pipe"] == ("other", None)
    assert kinds["pipe_link"] == ("symlink", None)


async def test_list_dir_and_search_refuse_a_fifo_as_the_directory(fifo_root: Path) -> None:
    server = create_server([fifo_root])
    for tool, says in (("list_dir", "neither a directory nor a regular file"), ("search", "not a directory")):
        error = await _bounded(lambda tool=tool: server.call_tool(tool, {"path": "pipe"}), [fifo_root / "pipe"])
        assert isinstance(error, ToolError) and says in str(error), tool


def test_a_fifo_swapped_in_after_the_look_is_refused_on_the_descriptor(
    files_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The look before opening saw a regular file; a FIFO took its place: the open must not wait."""
    sandbox = Sandbox([files_root])
    real = sandbox.resolve("notes.txt")
    seen = os.lstat(real)
    os.unlink(real)
    os.mkfifo(real)
    monkeypatch.setattr(Sandbox, "lstat", lambda self, path, dir_fd=None: seen)
    with _unstuck([real]) as stuck, pytest.raises(PathPolicyError, match="is a FIFO"):
        with sandbox.open_file(real):
            pass
    assert not stuck(), "opening the FIFO waited for a writer"


# -- 2. glob patterns -----------------------------------------------------------------------


async def test_a_pathological_glob_answers_at_once(tmp_path: Path) -> None:
    """Many stars against long names: exponential for a backtracking regex, instant here.

    The small case goes first: the regex this replaced took 9 s on it and so fails the bound,
    instead of hanging the suite on the large one (unfinished after 60 s).
    """
    server = create_server([tmp_path])
    for stars, length in ((8, 40), (40, 200)):
        folder = tmp_path / f"len{length}"
        folder.mkdir()
        (folder / ("a" * length)).write_text("no b at the end\n")
        (folder / ("a" * (length - 1) + "b")).write_text("ends in b\n")
        pattern = "*a" * stars + "*b"
        started = time.monotonic()
        found = await server.call_tool("search", {"pattern": pattern, "path": folder.name})
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"{stars} stars on {length}-character names took {elapsed:.2f} s"
        assert [m["path"] for m in found.structured_content["matches"]] == [f"{folder.name}/{'a' * (length - 1)}b"]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("[z-a]*", "range 'z-a'"),
        ("docs/[9-0].md", "range '9-0'"),
        ("*" * 1001, "1001 characters long; the limit is 1000"),
    ],
)
async def test_a_bad_glob_says_what_is_wrong(files_root: Path, pattern: str, expected: str) -> None:
    server = create_server([files_root])
    with pytest.raises(ToolError, match="Pattern") as caught:
        await server.call_tool("search", {"pattern": pattern})
    assert expected in str(caught.value)


# -- 3. a directory swapped for a link to outside, racing the calls ---------------------------


async def test_racing_directory_swaps_never_show_outside_names(files_root: Path, tmp_path: Path) -> None:
    """A thread flips ``swap`` between a real directory and a link to outside while the tools run.

    Each call either lists what is inside the root or is refused; the outside marker never shows.
    Before the tools went through directory descriptors, 15 to 47 of these 1200 calls showed it
    (10 runs out of 10).
    """
    marker = f"MARKER-{uuid.uuid4().hex}.txt"
    outside = tmp_path / "outside"
    (outside / marker).write_text("outside\n")
    swap, stash, next_link = files_root / "swap", files_root / "swap_stash", files_root / ".swap_link"
    swap.mkdir()
    (swap / "inside.txt").write_text("inside\n")
    stop = threading.Event()

    def flip() -> None:
        # sleep(0) hands over the GIL after each swap, so swaps land between the server's system
        # calls, where the check-then-use window is: without it, leaks come in bursts or not at all.
        while not stop.is_set():
            os.symlink(outside, next_link)
            os.rename(swap, stash)
            os.rename(next_link, swap)  # now a link to outside
            time.sleep(0)
            os.unlink(swap)
            os.rename(stash, swap)  # a real directory again
            time.sleep(0)

    server = create_server([files_root], read_only=True)
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_dir", {"path": "swap"}),
        ("search", {"path": "swap", "pattern": "*"}),
        ("search", {"pattern": "**/*.txt"}),
        ("search", {"pattern": "*.txt", "text": "outside"}),
    ]
    shown: list[str] = []
    answered = 0
    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        for _ in range(300):
            for tool, arguments in calls:
                try:
                    text = str((await server.call_tool(tool, arguments)).structured_content)
                except ToolError:
                    continue
                answered += 1
                if marker in text:
                    shown.append(f"{tool}({arguments}): {text[:200]}")
    finally:
        stop.set()
        flipper.join()
    assert not shown, f"{len(shown)} of {len(calls) * 300} calls showed the outside directory: {shown[:3]}"
    assert answered > 0


async def test_a_directory_swapped_just_after_the_check_is_not_listed(
    files_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race above, made certain: ``swap`` becomes a link to outside the moment its check returns."""
    marker = f"MARKER-{uuid.uuid4().hex}.txt"
    outside = tmp_path / "outside"
    (outside / marker).write_text("outside\n")
    swap, stash = files_root / "swap", files_root / "swap_stash"
    swap.mkdir()
    checked = Sandbox.resolve

    def resolve_then_swap(self: Sandbox, path: str) -> Path:
        real = checked(self, path)
        if path == "swap":
            os.rename(swap, stash)
            os.symlink(outside, swap)
        return real

    monkeypatch.setattr(Sandbox, "resolve", resolve_then_swap)
    server = create_server([files_root], read_only=True)
    for tool in ("list_dir", "search"):
        try:
            with pytest.raises(ToolError, match="became a symbolic link") as refused:
                await server.call_tool(tool, {"path": "swap"})
            assert marker not in str(refused.value)
        finally:
            os.unlink(swap)
            os.rename(stash, swap)


# -- 4. hard links --------------------------------------------------------------------------


@pytest.fixture
def linked_root(files_root: Path, tmp_path: Path) -> Path:
    """``files_root`` plus ``linked.txt``, a hard link to the secret outside the root."""
    os.link(tmp_path / "outside" / "secret.txt", files_root / "linked.txt")
    return files_root


async def test_a_hard_link_is_not_read_by_default(linked_root: Path) -> None:
    server = create_server([linked_root])
    with pytest.raises(ToolError) as read:
        await server.call_tool("read_text", {"path": "linked.txt"})
    with pytest.raises(ToolError) as edit:
        await server.call_tool("edit", {"path": "linked.txt", "old_text": "TOP", "new_text": "pwned"})
    found = await server.call_tool("search", {"pattern": "*.txt", "text": "SECRET"})
    assert "'linked.txt' has 2 hard links" in str(read.value)
    assert "--allow-hard-links" in str(read.value)
    assert "hard links" in str(edit.value)
    assert found.structured_content["matches"] == []
    assert (linked_root.parent / "outside" / "secret.txt").read_text() == "TOP-SECRET\n"


async def test_allow_hard_links_reads_them(linked_root: Path) -> None:
    server = create_server([linked_root], allow_hard_links=True)
    read = await server.call_tool("read_text", {"path": "linked.txt"})
    found = await server.call_tool("search", {"pattern": "*.txt", "text": "SECRET"})
    assert read.structured_content["content"] == "TOP-SECRET\n"
    assert found.structured_content["matches"] == [{"path": "linked.txt", "line": 1, "text": "TOP-SECRET"}]


async def test_the_command_line_option_lifts_the_refusal(linked_root: Path) -> None:
    args = COMMAND.parser().parse_args([str(linked_root), "--allow-hard-links"])
    read = await COMMAND.factory(args).call_tool("read_text", {"path": "linked.txt"})
    assert read.structured_content["content"] == "TOP-SECRET\n"
    assert COMMAND.entry_args([str(linked_root), "--allow-hard-links"]) == [str(linked_root), "--allow-hard-links"]
