"""Decoding one reply. A tool call is decoded in parts: the text the call's form fixes is written
into the prompt, and only the tool's name and the argument values are generated.

A call such as ``<tool_call>\\n{"name": "calculate", "arguments": {"expression": "2 + 2"}}\\n</tool_call>``
is ~30 tokens, of which ~20 are fixed once the tool is chosen (the tags, the keys, the punctuation).
Generated one at a time under the grammar, each costs a forward pass (~0.1 s for the 0.5B model on
2 cores); written, they are evaluated with the next part in one batch, and the text that closes the
call is not evaluated at all (SGLang calls this jump-forward decoding). The name is written out as
soon as what was generated of it fits one tool only. The repeat penalties see the whole reply so far,
as they did when every token was generated.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from mcploom.local_models.tool_protocol import ToolProtocol, Value

__all__ = ["Decoding"]


class Decoding:
    """One reply to ``prompt``: :meth:`text` or :meth:`call` yields its text piece by piece.

    Afterwards :attr:`output` is the whole reply, :attr:`generated` the number of tokens generated
    and :attr:`finish_reason` why it ended (``stop``, ``length`` or ``call_length``).

    Args:
        llama: The loaded ``Llama`` (a ``grammar_last_llama`` instance), used under its lock.
        prompt: The rendered prompt's tokens, up to the start of the reply.
        stop: Stop strings.
        sampling: ``create_completion`` sampling arguments, ``max_tokens`` included.
    """

    def __init__(self, llama: Any, prompt: list[int], stop: list[str], sampling: dict[str, Any]) -> None:
        self._llama, self._prompt, self._stop = llama, prompt, stop
        self._sampling = dict(sampling)
        self._max_tokens: int = self._sampling.pop("max_tokens")
        self.output = ""
        self.generated = 0
        self.finish_reason: str | None = None

    def text(self) -> Iterator[str]:
        """Free text, with no grammar."""
        yield from self._generate(None)

    def call(
        self, protocol: ToolProtocol, only: str | None = None, max_call_tokens: int | None = None
    ) -> Iterator[str]:
        """One call of a tool of ``protocol`` (of ``only``, when given); a call that is not the answer
        stops after ``max_call_tokens`` generated tokens (``finish_reason`` ``call_length``)."""
        yield self._write(protocol.head)
        names = protocol.names(only)
        start = len(self.output)
        if len(names) > 1:
            yield from self._generate(protocol.name_value(names), names=names)
            if self.finish_reason is not None:
                return
        written = self.output[start:]
        if written.endswith('"'):
            name = written[:-1]
        else:  # what was generated fits one name only (or nothing was: one name allowed)
            name = next(n for n in names if n.startswith(written))
            yield self._write(name[len(written) :] + '"')
        budget = None if name == protocol.answer_name else max_call_tokens
        for part in protocol.after_name(name):
            if isinstance(part, str):
                yield self._write(part)
            else:
                yield from self._generate(part, budget=budget)
                if self.finish_reason is not None:
                    return
        self.finish_reason = "stop"

    def _write(self, text: str) -> str:
        """Append fixed text: the next generation evaluates it with the prompt; what closes the call, never."""
        self.output += text
        return text

    def _generate(
        self, part: Value | None, *, names: list[str] | None = None, budget: int | None = None
    ) -> Iterator[str]:
        """Generate until ``part`` is complete (without a part: until the model stops). Of a token that
        runs past the part's end, only the part is kept: the fixed text written next repeats the rest.
        With ``names``, the part also ends once what was written of it starts only one of them."""
        start = len(self.output)
        if self.generated >= self._max_tokens:
            self.finish_reason = "length"
            return
        llama = self._llama
        reply = spelled(llama, self.output)
        llama.penalty_history = reply
        stream = llama.create_completion(
            self._prompt + reply,
            stream=True,
            grammar=None if part is None else grammar(part.grammar),
            stop=self._stop,
            max_tokens=self._max_tokens - self.generated,
            **self._sampling,
        )
        try:
            for chunk in stream:
                choice = chunk["choices"][0]
                piece, reason = choice["text"], choice.get("finish_reason")
                self.generated += reason is None
                written = self.output[start:] + piece
                end = part.ends_at(written) if part else None
                if end is None and names and sum(n.startswith(written) for n in names) == 1:
                    end = len(written)
                if end is not None:
                    piece = piece[: len(piece) - (len(written) - end)]
                self.output += piece
                if piece:
                    yield piece
                if end is not None:
                    return
                if reason is not None:
                    self.finish_reason = reason
                    return
                if budget is not None and self.generated >= budget:
                    self.finish_reason = "call_length"
                    return
            self.finish_reason = "stop"
        finally:
            stream.close()
            llama.penalty_history = ()


def spelled(llama: Any, text: str) -> list[int]:
    """``text`` in tokens as the model writes it under a grammar: special tokens spelled in plain pieces.

    The grammar matches text and the model never writes "<tool_call>" as its special token: it wrote
    "<", "tool", "_call", ">" (Qwen2.5). Shown the special token instead, the 0.5B model called tools
    for more requests that need none (agent tasks, score split: no-tool 2/4 and 12/30 in all, against
    4/4 and 17/30 spelled).
    """
    import llama_cpp

    tokens = llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    special = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    vocab = llama._model.vocab
    names = {
        llama.detokenize([token], special=True).decode("utf-8", "replace")
        for token in tokens
        if llama_cpp.llama_vocab_get_attr(vocab, token) & special
    }
    if not names:
        return tokens
    # A break after each one's first character keeps the tokenizer from matching it whole.
    breaks = [match.start() + 1 for match in re.finditer("|".join(map(re.escape, names)), text)]
    chunks = [text[start:end] for start, end in zip([0, *breaks], [*breaks, len(text)], strict=True)]
    return [t for chunk in chunks for t in llama.tokenize(chunk.encode("utf-8"), add_bos=False, special=True)]


@lru_cache(maxsize=256)
def grammar(text: str) -> Any:
    """The parsed ``LlamaGrammar`` for GBNF ``text`` (parsed once: calls reuse a tool's few grammars)."""
    from llama_cpp import LlamaGrammar

    return LlamaGrammar.from_string(text, verbose=False)
