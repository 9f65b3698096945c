"""One loaded ``llama_cpp.Llama`` per model file and load options, shared by every chat model.

Sharing matters twice: loading costs seconds, and llama-cpp-python reuses the KV cache of the
longest matching prompt prefix only within one instance (a 1k-token history re-evaluated costs
~27 s on 2 cores; a reused prefix ~2.6 s). A lock serialises use, since an instance is not
thread-safe.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from mcploom.local_models.errors import ModelLoadError

__all__ = ["LoadedModel", "load_llama"]


@dataclass
class LoadedModel:
    """A loaded model with its chat formatter and the lock that guards it."""

    llama: Any
    template: str | None
    eos_token: str
    bos_token: str
    lock: threading.Lock = field(default_factory=threading.Lock)

    def render(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None) -> str:
        """Render messages (and tools, when the template supports them) with the model's own template."""
        if self.template is None:
            raise ModelLoadError("This GGUF file has no chat template; use an instruction-tuned (chat) model.")
        formatter = _formatter(self.template, self.eos_token, self.bos_token)
        return formatter(messages=messages, tools=tools or None).prompt

    @property
    def renders_tools(self) -> bool:
        """Whether the chat template lays out a ``tools`` list itself."""
        return bool(self.template) and "tools" in self.template

    @property
    def renders_tool_role(self) -> bool:
        """Whether the chat template handles ``role: tool`` messages."""
        return bool(self.template) and ('"tool"' in self.template or "'tool'" in self.template)


@lru_cache(maxsize=8)
def _formatter(template: str, eos_token: str, bos_token: str) -> Any:
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    return Jinja2ChatFormatter(template=template, eos_token=eos_token, bos_token=bos_token)


_LOADING = threading.Lock()
"""Serialises loads. llama-cpp-python silences a load by swapping file descriptors 1 and 2; two
threads loading at once (the parallel steps of a pattern making their first model call) restored
each other's swap and left the process without stdout and stderr (2 of 3 tries)."""


def load_llama(model_path: str, n_ctx: int, n_threads: int | None, n_gpu_layers: int) -> LoadedModel:
    """Load (once per process and settings) the GGUF model at ``model_path``; thread-safe.

    Raises:
        ModelLoadError: The file is missing, not a GGUF model, or llama-cpp-python is not installed.
    """
    with _LOADING:
        return _load(model_path, n_ctx, n_threads, n_gpu_layers)


@lru_cache(maxsize=2)
def _load(model_path: str, n_ctx: int, n_threads: int | None, n_gpu_layers: int) -> LoadedModel:
    path = Path(model_path)
    if not path.is_file():
        raise ModelLoadError(f"Model file {model_path!r} does not exist. Check the path (gguf:/abs/path.gguf).")
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            raise ModelLoadError(f"{model_path!r} is not a GGUF file (its first bytes are not 'GGUF').")
    # Without this, OpenMP worker threads spin while waiting and starve everything else on a
    # busy machine: generation fell from ~20 to 0.33 tok/s with 2 threads on 2 busy cores.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        from llama_cpp import Llama
    except ImportError:
        raise ModelLoadError(
            "Local models need llama-cpp-python: pip install 'mcploom[local]' (or llama-cpp-python)."
        ) from None
    from mcploom.local_models._grammar_last import grammar_last_llama

    try:
        llama = grammar_last_llama(Llama)(
            model_path=str(path),
            n_ctx=n_ctx,
            n_threads=n_threads or os.cpu_count() or 1,
            n_gpu_layers=n_gpu_layers,
            verbose=False,
        )
    except ValueError as exc:
        raise ModelLoadError(f"llama.cpp could not load {model_path!r}: {exc}") from None
    vocab = llama._model  # token texts come from the loaded vocabulary
    eos = vocab.token_get_text(llama.token_eos()) if llama.token_eos() != -1 else ""
    bos = vocab.token_get_text(llama.token_bos()) if llama.token_bos() != -1 else ""
    return LoadedModel(llama, llama.metadata.get("tokenizer.chat_template"), eos, bos)
