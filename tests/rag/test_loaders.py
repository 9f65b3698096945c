"""Loaders: every supported format, directory walking with globs, and clear errors for bad files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcploom.rag import LoadError, iter_files, load_file
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
