"""Fixtures for the rag tests: one real embedding model per session, a small hand-written corpus,
and a slice of SciFact read from ../shared/data/scifact at test time (never copied into the repo)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mcploom import rag

REPO = Path(__file__).resolve().parents[2]
SCIFACT = REPO.parent / "shared" / "data" / "scifact"

# A few dozen short documents on distinct topics; each query below has exactly one right answer.
CORPUS: dict[str, str] = {
    "biology/photosynthesis.md": "# Photosynthesis\n\nPlants convert sunlight, water and carbon dioxide into "
    "glucose and oxygen. Chlorophyll in the chloroplasts absorbs red and blue light.",
    "biology/mitochondria.md": "# Mitochondria\n\nMitochondria produce ATP through oxidative phosphorylation; "
    "they are often called the powerhouse of the cell.",
    "biology/dna.txt": "DNA is a double helix of nucleotides. Base pairing of adenine with thymine and guanine "
    "with cytosine lets the molecule replicate.",
    "biology/vaccines.md": "# Vaccines\n\nA vaccine trains the immune system with an antigen so that memory B "
    "cells and T cells respond quickly to a later infection.",
    "cooking/pasta.md": "# Pasta\n\n## Boiling\n\nBring salted water to a rolling boil and cook spaghetti for "
    "nine to eleven minutes until al dente.\n\n## Sauce\n\nToss with olive oil, garlic and chili flakes.",
    "cooking/bread.md": "# Bread\n\nKnead flour, water, yeast and salt, let the dough rise for an hour, "
    "then bake at 230 degrees until the crust is brown.",
    "cooking/sushi.txt": "Sushi rice is seasoned with rice vinegar, sugar and salt, then shaped with raw fish "
    "such as tuna or salmon and wrapped in nori seaweed.",
    "cooking/coffee.md": "# Espresso\n\nEspresso forces hot water at nine bars of pressure through finely "
    "ground coffee in about twenty-five seconds.",
    "geo/paris.txt": "The Eiffel Tower stands in Paris, the capital of France, on the bank of the Seine.",
    "geo/tokyo.txt": "Tokyo is the capital of Japan and the most populous metropolitan area in the world.",
    "geo/amazon.md": "# Amazon\n\nThe Amazon river flows through Brazil and Peru into the Atlantic Ocean and "
    "carries more water than any other river.",
    "geo/everest.md": "# Everest\n\nMount Everest in the Himalayas, on the border of Nepal and China, is the "
    "highest mountain above sea level at 8,849 metres.",
    "geo/sahara.txt": "The Sahara is the largest hot desert, covering much of North Africa with sand dunes "
    "and rocky plateaus.",
    "tech/rust.html": "<html><head><title>Rust</title><script>var tracking = 1;</script></head><body>"
    "<h1>Ownership</h1><p>Rust manages memory through ownership and borrowing, with no garbage "
    "collector.</p></body></html>",
    "tech/python.md": "# Python\n\nPython is an interpreted language with dynamic typing; the global "
    "interpreter lock lets only one thread run bytecode at a time.",
    "tech/git.md": "# Git\n\nGit stores snapshots as commits in a directed acyclic graph; `git rebase` "
    "replays commits onto a new base.",
    "tech/tcp.txt": "TCP opens a connection with a three-way handshake of SYN, SYN-ACK and ACK packets and "
    "retransmits lost segments.",
    "tech/sql.md": "# SQL joins\n\nAn inner join returns rows with matching keys in both tables; a left "
    "join keeps every row of the left table.",
    "tech/docker.md": "# Containers\n\nDocker images are layered file systems; a container is a running "
    "instance isolated with Linux namespaces and cgroups.",
    "history/rome.md": "# Rome\n\nJulius Caesar crossed the Rubicon in 49 BC, starting a civil war that "
    "ended the Roman Republic.",
    "history/moon.txt": "Apollo 11 landed on the Moon in July 1969; Neil Armstrong and Buzz Aldrin walked "
    "on the surface while Michael Collins orbited.",
    "history/printing.md": "# Printing press\n\nJohannes Gutenberg built a movable-type printing press in "
    "Mainz around 1440.",
    "sport/marathon.md": "# Marathon\n\nThe marathon distance is 42.195 kilometres, fixed at the 1908 London Olympics.",
    "sport/chess.txt": "In chess, castling moves the king two squares toward a rook, which jumps to the "
    "other side of the king.",
    "music/piano.md": "# Piano\n\nA grand piano has 88 keys; hammers strike steel strings when a key is pressed.",
    "music/orchestra.txt": "A symphony orchestra has four sections: strings, woodwinds, brass and "
    "percussion, led by a conductor.",
    "unicode/cafe.md": "# Café crème\n\nUn café crème se prépare avec un espresso et de la crème chaude. "
    "Ça coûte 4 € à Zürich 🇨🇭.",
    "unicode/japanese.txt": "東京タワーは東京都港区にある電波塔です。高さは333メートルです。",
}

QUERIES: dict[str, str] = {
    "How do plants turn light into sugar?": "biology/photosynthesis.md",
    "powerhouse of the cell ATP": "biology/mitochondria.md",
    "how long should spaghetti boil": "cooking/pasta.md",
    "capital of Japan": "geo/tokyo.txt",
    "highest mountain on Earth": "geo/everest.md",
    "memory safety without garbage collection": "tech/rust.html",
    "three-way handshake SYN ACK": "tech/tcp.txt",
    "who walked on the moon in 1969": "history/moon.txt",
    "how many keys does a piano have": "music/piano.md",
    "Gutenberg movable type": "history/printing.md",
}


def write_corpus(root: Path) -> Path:
    """Write CORPUS under ``root`` and return it."""
    for rel, text in CORPUS.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def embedder() -> rag.SentenceTransformerEmbedder:
    """The real default model, loaded once for the whole session."""
    model = rag.SentenceTransformerEmbedder()
    model.embed_query("warm up")
    return model


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    """A fresh copy of the small corpus."""
    return write_corpus(tmp_path / "corpus")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, embedder: rag.SentenceTransformerEmbedder):
    """``(index, corpus_root)``: the small corpus ingested once per test module (read-only tests)."""
    root = write_corpus(tmp_path_factory.mktemp("corpus"))
    index = rag.open_index(tmp_path_factory.mktemp("index"), "shared", embedder=embedder)
    index.ingest([root])
    return index, root


def read_scifact(n_queries: int, distractors: int) -> tuple[list[dict], dict[str, str], dict[str, set[str]]]:
    """A SciFact slice: ``(docs, queries, qrels)`` for the first ``n_queries`` test queries, their relevant
    abstracts, and ``distractors`` further abstracts."""
    if not SCIFACT.is_dir():
        pytest.skip(f"SciFact data not found at {SCIFACT} (CI keeps ../shared beside the checkout)")
    qrels: dict[str, set[str]] = {}
    for line in (SCIFACT / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, _ = line.split("\t")
        qrels.setdefault(qid, set()).add(did)
    chosen = dict(list(qrels.items())[:n_queries])
    wanted = set().union(*chosen.values())
    docs: list[dict] = []
    extra = 0
    with (SCIFACT / "corpus.jsonl").open() as lines:
        for line in lines:
            record = json.loads(line)
            if record["_id"] in wanted:
                docs.append(record)
            elif extra < distractors:
                docs.append(record)
                extra += 1
    queries = {}
    with (SCIFACT / "queries.jsonl").open() as lines:
        for line in lines:
            record = json.loads(line)
            if record["_id"] in chosen:
                queries[record["_id"]] = record["text"]
    return docs, queries, chosen
