"""Loaders: every supported format, directory walking with globs, and clear errors for bad files."""

from __future__ import annotations

import doctest
import json
import os
from pathlib import Path

import pytest

from mcploom import rag
from mcploom.rag import LoadError, iter_files, load_file, loaders
from mcploom.rag.loaders import parse_html


def _minimal_pdf(text: str) -> bytes:
    """A valid one-page PDF with ``text`` in Helvetica, written by hand (with a correct xref table)."""
    stream = f"BT /F1 24 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_text_markdown_and_title(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Title here\n\nBody.\r\n", encoding="utf-8")
    (doc,) = load_file(tmp_path / "a.md")
    assert doc.title == "Title here"
    assert doc.text == "# Title here\n\nBody.\n"
    assert doc.source == str((tmp_path / "a.md").resolve())


def test_html_keeps_text_and_headings_drops_markup_and_scripts() -> None:
    title, text = parse_html(
        "<html><head><title> My  page </title><style>p{}</style></head><body><nav>Menu</nav>"
        "<h2>Intro</h2><p>Fish &amp; chips<script>alert(1)</script> are <b>good</b>.</p></body></html>"
    )
    assert title == "My page"
    assert "## Intro" in text
    assert "Fish & chips are good." in text
    assert "alert" not in text and "<" not in text and "p{}" not in text


def test_pdf_text_and_pages(tmp_path: Path) -> None:
    path = tmp_path / "paper.pdf"
    path.write_bytes(_minimal_pdf("Hybrid retrieval works"))
    (doc,) = load_file(path)
    assert "Hybrid retrieval works" in doc.text
    assert doc.page_at(0) == 1


def test_jsonl_beir_records_become_documents(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    lines = [
        {"_id": "7", "title": "A title", "text": "Some abstract.", "metadata": {"year": 2020, "tags": ["x"]}},
        {"_id": "8", "title": "", "text": "Another."},
        "not json",
        {"_id": "9", "text": ""},
    ]
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines), encoding="utf-8")
    docs = load_file(path)
    assert [d.source.rsplit("#", 1)[1] for d in docs] == ["7", "8"]
    assert docs[0].text == "A title\n\nSome abstract."
    assert docs[0].metadata == {"year": 2020}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.md", b"", "empty"),
        ("blank.txt", b"  \n\n\t ", "empty"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        ("latin1.txt", "café".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.4\n this is not a pdf at all", "PDF"),
        ("bad.jsonl", b"{oops\n[1,2]\n", "malformed"),
    ],
)
def test_bad_files_raise_load_error_naming_file_and_fix(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(LoadError, match=message) as info:
        load_file(path)
    assert str(path.resolve()) in str(info.value)
    assert info.value.source == str(path.resolve())


def test_missing_path_is_a_load_error(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        list(iter_files([tmp_path / "nope"]))


def test_iter_files_walks_recursively_with_include_and_exclude(tmp_path: Path) -> None:
    for rel in ["a.md", "b.txt", "c.py", "sub/d.html", "sub/deep/e.md", ".hidden/f.md", "skip/g.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("x")
    names = [p.name for p in iter_files([tmp_path], exclude=(".*", "skip"))]
    assert names == ["a.md", "b.txt", "d.html", "e.md"]
    assert [p.name for p in iter_files([tmp_path], include=["*.md"], exclude=(".*",))] == [
        "a.md",
        "g.md",
        "e.md",
    ]  # path order
    assert [p.name for p in iter_files([tmp_path / "c.py"])] == ["c.py"]  # named files are always taken


# ---- confinement: links, special files and hard links inside walked folders ----------------------

FILE_MARKER = "QUOKKA-FILE-4471"
DIR_MARKER = "QUOKKA-DIR-9023"
HARD_MARKER = "QUOKKA-HARD-5168"


def _trap_folder(tmp_path: Path) -> Path:
    """``root/`` with one good file and every way out: file and folder links, a FIFO, a hard link."""
    outside = tmp_path / "outside"
    (outside / "dir").mkdir(parents=True)
    (outside / "secret.md").write_text(f"# Secret\n\n{FILE_MARKER} lives outside the root.")
    (outside / "dir" / "inner.md").write_text(f"# Inner\n\n{DIR_MARKER} lives outside the root.")
    (outside / "hard.md").write_text(f"# Hard\n\n{HARD_MARKER} lives outside the root.")
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "good.md").write_text("# Good\n\nLighthouses guide ships at night.")
    os.symlink(outside / "secret.md", root / "link.md")
    os.symlink(outside / "dir", root / "sub" / "linkdir")
    os.symlink(outside / "secret.md", root / "tool.py")  # not a supported name: silently ignored
    os.symlink(outside / "secret.md", root / ".hidden.md")  # excluded by name
    os.mkfifo(root / "pipe.txt")
    os.link(outside / "hard.md", root / "hard.md")
    return root


def test_walk_never_follows_links_or_opens_special_files_and_reports_them(tmp_path: Path) -> None:
    root = _trap_folder(tmp_path)
    skipped: list[tuple[str, str]] = []
    files = list(iter_files([root], on_skip=lambda source, reason: skipped.append((source, reason))))
    assert files == [root / "good.md", root / "hard.md"]  # hard links are the caller's call, see below
    reasons = {Path(source).relative_to(root).as_posix(): reason for source, reason in skipped}
    assert set(reasons) == {"link.md", "sub/linkdir", "pipe.txt"}
    assert reasons["link.md"].startswith("symbolic link: not followed")
    assert reasons["sub/linkdir"].startswith("symbolic link: not followed")
    assert reasons["pipe.txt"].startswith("not a regular file (FIFO)")
    assert str(tmp_path / "outside") not in str(skipped)  # link targets are not revealed


@pytest.mark.timeout(20)
def test_load_file_reads_only_regular_files_and_never_blocks(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.md")  # opening it without O_NONBLOCK would wait for a writer forever
    with pytest.raises(LoadError, match=r"not a regular file \(FIFO\)"):
        load_file(tmp_path / "pipe.md")
    with pytest.raises(LoadError, match=r"not a regular file \(character device\)"):
        load_file("/dev/null")
    with pytest.raises(LoadError, match=r"not a regular file \(directory\)"):
        load_file(tmp_path)


def test_hard_links_are_read_unless_the_caller_refuses_them(tmp_path: Path) -> None:
    (tmp_path / "original.md").write_text(f"# Hard\n\n{HARD_MARKER}")
    os.link(tmp_path / "original.md", tmp_path / "linked.md")
    (doc,) = load_file(tmp_path / "linked.md")
    assert HARD_MARKER in doc.text
    with pytest.raises(LoadError, match=r"hard-linked file \(2 links\)") as info:
        load_file(tmp_path / "linked.md", allow_hard_links=False)
    assert info.value.source == str(tmp_path / "linked.md")
    (tmp_path / "single.md").write_text("# One\n\nOnly one name.")
    assert load_file(tmp_path / "single.md", allow_hard_links=False)[0].text.endswith("Only one name.")


def test_ingest_reports_skipped_entries_and_indexes_nothing_from_outside(tmp_path: Path, embedder) -> None:
    root = _trap_folder(tmp_path)
    index = rag.open_index(tmp_path / "idx", "traps", embedder=embedder)
    report = index.ingest([root], allow_hard_links=False)
    assert report.added == [str(root / "good.md")]
    failed = {Path(s).relative_to(root).as_posix(): r for s, r in report.failed}
    assert set(failed) == {"link.md", "sub/linkdir", "pipe.txt", "hard.md"}
    assert failed["hard.md"].startswith("hard-linked file (2 links)")
    for marker in (FILE_MARKER, DIR_MARKER, HARD_MARKER):
        for mode in ("bm25", "hybrid"):
            assert not any(marker in c.text for c in index.search(marker, k=5, mode=mode).chunks)
    assert [s.source for s in index.sources()] == [str(root / "good.md")]


def test_a_folder_swapped_for_a_link_during_ingest_is_not_followed(tmp_path: Path, embedder) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "doc.md").write_text(f"# Swapped\n\n{FILE_MARKER} must not be indexed.")
    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    (root / "a.md").write_text("# A\n\nRead first.")
    (root / "sub" / "doc.md").write_text("# Doc\n\nThe real one.")

    def swap(done: int, total: int, source: str) -> None:  # after a.md: sub/ becomes a link out
        if done == 1:
            (root / "sub" / "doc.md").unlink()
            (root / "sub").rmdir()
            os.symlink(outside, root / "sub")

    index = rag.open_index(tmp_path / "idx", "swap", embedder=embedder)
    report = index.ingest([root], progress=swap)
    assert report.added == [str(root / "a.md")]
    assert [s for s, _ in report.failed] == [str(root / "sub" / "doc.md")]
    assert not any(FILE_MARKER in c.text for c in index.search(FILE_MARKER, k=5, mode="bm25").chunks)


def test_loader_examples_run() -> None:
    assert doctest.testmod(loaders).failed == 0
