"""Hybrid retrieval: load, chunk, embed, store in Chroma and BM25, fuse, rerank."""
