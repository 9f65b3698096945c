"""Grammar-constrained sampling that checks only the chosen token, as llama.cpp's own sampler does.

llama-cpp-python puts the grammar in the sampler chain, so every token tests the whole vocabulary
against it: with Qwen2.5's 151k tokens that cost ~100 ms a token on 2 cores, more than the
0.5B model's forward pass (a grammar-bound call ran at ~6 tok/s, free text at ~15). llama.cpp's
``common_sampler`` samples without the grammar first and tests that one token; only when the
grammar rejects it does it sample again with the grammar over the whole vocabulary. Greedy
decoding gives the same tokens either way (the best token the grammar allows is the best token,
when the grammar allows it); only the work differs.
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["Candidates", "GrammarLastSampler", "grammar_last_llama", "stock_sampler"]


class Candidates:
    """The whole vocabulary as a ``llama_token_data_array``, allocated once per model (151k entries)."""

    def __init__(self, n_vocab: int) -> None:
        import llama_cpp

        self.size = n_vocab
        self._data = (llama_cpp.llama_token_data * n_vocab)()
        self._view = np.ctypeslib.as_array(self._data).view(
            np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])
        )
        self._ids = np.arange(n_vocab, dtype=np.int32)
        self.array = llama_cpp.llama_token_data_array(self._data, n_vocab, -1, False)

    def fill(self, logits: np.ndarray) -> None:
        """Set every candidate to its token and logit; samplers such as top-k sort the array in place."""
        self._view["id"] = self._ids
        self._view["logit"] = logits
        self._view["p"] = 0.0
        self.array.size, self.array.selected, self.array.sorted = self.size, -1, False


class GrammarLastSampler:
    """Stands in for llama-cpp-python's ``LlamaSampler`` (``sample(ctx, idx)``) with the grammar applied last.

    Args:
        chain: The sampler chain without the grammar (a ``LlamaSampler``), owned from here on.
        vocab: The model's ``llama_vocab`` pointer.
        grammar: The ``LlamaGrammar`` to obey.
        candidates: The model's vocabulary buffer; one sampler uses it at a time (the model's lock).
    """

    def __init__(self, chain: Any, vocab: Any, grammar: Any, candidates: Candidates) -> None:
        import llama_cpp

        self._lib = llama_cpp
        self._chain = chain
        self._grammar = llama_cpp.llama_sampler_init_grammar(
            vocab, grammar._grammar.encode("utf-8"), grammar._root.encode("utf-8")
        )
        if not self._grammar:
            raise ValueError("llama.cpp could not parse the tool-call grammar.")
        self._candidates = candidates
        self._one_data = (llama_cpp.llama_token_data * 1)()
        self._one = llama_cpp.llama_token_data_array(self._one_data, 1, -1, False)

    def sample(self, ctx: Any, idx: int = -1) -> int:
        """Choose the next token from the logits at ``idx`` and record it in the chain and the grammar."""
        lib = self._lib
        logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx.ctx, idx), shape=(self._candidates.size,))
        token = self._choose(logits)
        self._one_data[0].id, self._one_data[0].logit, self._one_data[0].p = token, 0.0, 0.0
        self._one.size, self._one.selected = 1, -1
        lib.llama_sampler_apply(self._grammar, ctypes.byref(self._one))
        if not np.isfinite(self._one_data[0].logit):
            token = self._choose(logits, constrained=True)
        lib.llama_sampler_accept(self._grammar, token)
        lib.llama_sampler_accept(self._chain.sampler, token)
        return token

    def _choose(self, logits: np.ndarray, constrained: bool = False) -> int:
        lib, candidates = self._lib, self._candidates
        candidates.fill(logits)
        if constrained:
            lib.llama_sampler_apply(self._grammar, ctypes.byref(candidates.array))
        lib.llama_sampler_apply(self._chain.sampler, ctypes.byref(candidates.array))
        return int(candidates.array.data[candidates.array.selected].id)

    def close(self) -> None:
        if self._grammar:
            self._lib.llama_sampler_free(self._grammar)
            self._grammar = None
        self._chain.close()

    def __del__(self) -> None:
        self.close()


def grammar_last_llama(base: type) -> type:
    """A subclass of ``llama_cpp.Llama`` whose grammar-bound generation uses :class:`GrammarLastSampler`."""

    class GrammarLastLlama(base):  # type: ignore[misc, valid-type]
        penalty_history: Sequence[int] = ()
        """Tokens the repeat penalties count as already written in this reply: the reply so far, when it
        is decoded in several generations (``_decoding.py``)."""

        _vocabulary: Candidates | None = None  # not _candidates: Llama has its own

        def _init_sampler(self, *args: Any, grammar: Any = None, **kwargs: Any) -> Any:
            import llama_cpp

            chain = super()._init_sampler(*args, grammar=None, **kwargs)
            for token in self.penalty_history[-self.last_n_tokens_size :]:
                llama_cpp.llama_sampler_accept(chain.sampler, token)
            if grammar is None:
                return chain
            if self._vocabulary is None:
                self._vocabulary = Candidates(llama_cpp.llama_vocab_n_tokens(self._model.vocab))
            return GrammarLastSampler(chain, self._model.vocab, grammar, self._vocabulary)

    return GrammarLastLlama


@contextmanager
def stock_sampler(llama: Any) -> Iterator[None]:
    """Within the block, ``llama`` (a :func:`grammar_last_llama` instance) samples with
    llama-cpp-python's own chain, the grammar tested on every token: the baseline to compare with."""
    llama._init_sampler = super(type(llama), llama)._init_sampler  # the method of the Llama it extends
    try:
        yield
    finally:
        del llama._init_sampler
