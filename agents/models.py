"""Model specs: one string picks a LangChain chat model, local GGUF or frontier API.

The forms a spec can take:

=========================================  ====================================================
``local``                                  the catalog's default model (``local_models``)
``local:<catalog-name>``                   a named model from the catalog
``gguf:/path/to/model.gguf``               any GGUF file on disk
``anthropic:<model>``                      Claude via ``langchain-anthropic`` (``ANTHROPIC_API_KEY``)
``openai:<model>``                         OpenAI via ``langchain-openai`` (``OPENAI_API_KEY``)
``openai-compatible:<base_url>#<model>``   llama.cpp server, vLLM, Ollama, ... (key optional)
=========================================  ====================================================

Frontier base URLs follow the SDKs' own variables, ``ANTHROPIC_BASE_URL`` and
``OPENAI_BASE_URL``. The heavy client libraries are imported only in the branch that needs
them. ``local_models`` loads a GGUF once per process (per file and context/thread/GPU
settings), so later agents reuse it and llama.cpp keeps its KV-cache prefix.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcploom.agents.errors import ConfigError, MissingAPIKeyError, ModelCallError
from mcploom.agents.types import BACKENDS, Backend

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["SPEC_FORMS", "ModelSpec", "explain_model_error", "load_chat_model"]

SPEC_FORMS = (
    "local",
    "local:<catalog-name>",
    "gguf:<path/to/model.gguf>",
    "anthropic:<model>",
    "openai:<model>",
    "openai-compatible:<base_url>#<model>",
)
"""Every valid spec form, as error messages and ``--help`` texts list them."""

OPENAI_COMPATIBLE_KEY_VAR = "OPENAI_COMPATIBLE_API_KEY"
"""Environment variable holding the key for an ``openai-compatible:`` server, if it wants one."""

OPENAI_COMPATIBLE_PLACEHOLDER_KEY = "not-needed"
"""Key sent to ``openai-compatible:`` servers when none is set: local servers ignore it."""

_KEY_VARS: dict[Backend, str] = {"anthropic": "ANTHROPIC_API_KEY", "openai": "OPENAI_API_KEY"}

_LOCAL_ONLY_OPTIONS = frozenset({"n_ctx", "n_threads", "n_gpu_layers"})
"""Load settings of in-process models; a server or API chooses its own."""
_REMOTE_ONLY_OPTIONS = frozenset({"api_key", "base_url"})
_EXAMPLES: dict[Backend, str] = {
    "local": "local:qwen2.5-coder-0.5b",
    "gguf": "gguf:~/models/qwen2.5-1.5b-instruct-q4_k_m.gguf",
    "anthropic": "anthropic:claude-sonnet-5-5",
    "openai": "openai:gpt-5.5",
    "openai-compatible": "openai-compatible:http://127.0.0.1:8080/v1#qwen2.5",
}


def _valid_forms() -> str:
    return ", ".join(SPEC_FORMS)


@dataclass(frozen=True, slots=True)
class ModelSpec:
    """A parsed model spec: which backend, which model, and for ``openai-compatible`` where.

    Attributes:
        backend: Where the model runs.
        name: The catalog name (``local``; ``None`` = the catalog default), the GGUF path
            (``gguf``), or the API's model name.
        base_url: The server's base URL, for ``openai-compatible`` only.

    Example:
        >>> ModelSpec.parse("openai-compatible:http://127.0.0.1:8080/v1#qwen2.5")
        ModelSpec(backend='openai-compatible', name='qwen2.5', base_url='http://127.0.0.1:8080/v1')
        >>> str(ModelSpec.parse("local"))
        'local'
    """

    backend: Backend
    name: str | None = None
    base_url: str | None = None

    @classmethod
    def parse(cls, text: str) -> ModelSpec:
        """Parse a spec string such as ``anthropic:claude-sonnet-5-5`` or ``local``.

        Args:
            text: The spec; surrounding whitespace is ignored, the backend is case-insensitive.

        Returns:
            The parsed spec. Nothing is loaded or checked on disk or on the network.

        Raises:
            ConfigError: The backend is unknown, or the part after it is missing or malformed;
                the message lists the valid forms.

        Example:
            >>> ModelSpec.parse("gguf:/models/qwen.gguf")
            ModelSpec(backend='gguf', name='/models/qwen.gguf', base_url=None)
        """
        spec = text.strip()
        prefix, colon, rest = spec.partition(":")
        backend = prefix.strip().lower()
        rest = rest.strip()
        if backend == "local":
            return cls("local", rest or None)
        if not colon or backend not in BACKENDS:
            raise ConfigError(_unknown_backend_message(spec, backend if colon else None))
        if backend == "openai-compatible":
            return cls._parse_openai_compatible(spec, rest)
        if not rest:
            what = "GGUF file path" if backend == "gguf" else "model name"
            raise ConfigError(
                f"At model spec {spec!r}: the {what} after '{backend}:' is missing. "
                f"Write {backend}:<{'path' if backend == 'gguf' else 'model'}>, "
                f"e.g. {_EXAMPLES[backend]}."
            )
        return cls(backend, rest)

    @classmethod
    def _parse_openai_compatible(cls, spec: str, rest: str) -> ModelSpec:
        base_url, hash_sign, model = rest.rpartition("#")
        base_url, model = base_url.strip().rstrip("/"), model.strip()
        url = urlsplit(base_url)
        if not hash_sign or not model or url.scheme not in ("http", "https") or not url.netloc:
            raise ConfigError(
                f"At model spec {spec!r}: expected openai-compatible:<base_url>#<model>, where "
                "<base_url> is the server's http(s) URL the OpenAI SDK would use (usually ending "
                f"in /v1) and <model> the name the server knows, e.g. {_EXAMPLES['openai-compatible']}."
            )
        return cls("openai-compatible", model, base_url)

    def __str__(self) -> str:
        if self.backend == "openai-compatible":
            return f"openai-compatible:{self.base_url}#{self.name}"
        return self.backend if self.name is None else f"{self.backend}:{self.name}"


def _unknown_backend_message(spec: str, backend: str | None) -> str:
    if not spec:
        return f"At model spec '': the spec is empty. Use one of: {_valid_forms()}."
    if backend is None:
        hint = f" Did you mean gguf:{spec}?" if spec.lower().endswith(".gguf") else ""
        return f"At model spec {spec!r}: no backend prefix.{hint} Use one of: {_valid_forms()}."
    return f"At model spec {spec!r}: unknown backend {backend!r}. Use one of: {_valid_forms()}."


def load_chat_model(spec: str | ModelSpec, **options: Any) -> BaseChatModel:
    """Build the chat model a spec names.

    Args:
        spec: A spec string (see the module docstring) or a parsed ``ModelSpec``.
        **options: Passed to the backend's chat model: ``temperature``, ``max_tokens``,
            ``seed``, ``stop``, ``timeout``, ...; local models also take ``n_ctx``,
            ``n_threads``, ``n_gpu_layers`` and the other ``ChatLlamaCpp`` settings, frontier
            ones ``api_key`` and ``base_url``. ``None`` values mean "the backend's default".

    Returns:
        A LangChain chat model. Nothing is sent or loaded yet: a local model loads its weights
        on first use, once per process for each file and context/thread/GPU settings.

    Raises:
        ConfigError: The spec is malformed, a ``gguf:`` file does not exist, or an option does
            not apply to the backend (local models check every option name).
        MissingAPIKeyError: A frontier backend's key variable is not set.
        local_models.ModelLoadError: A catalog model is unknown or cannot be installed.

    Example:
        >>> model = load_chat_model("openai-compatible:http://127.0.0.1:8080/v1#qwen", max_tokens=64)
        >>> type(model).__name__
        'ChatOpenAI'
    """
    model_spec = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
    given = {key: value for key, value in options.items() if value is not None}
    _check_options(model_spec, given)
    return _LOADERS[model_spec.backend](model_spec, given)


def _check_options(spec: ModelSpec, options: Mapping[str, Any]) -> None:
    local = spec.backend in ("local", "gguf")
    misplaced = sorted(set(options) & (_REMOTE_ONLY_OPTIONS if local else _LOCAL_ONLY_OPTIONS))
    if misplaced:
        applies_to = "frontier and openai-compatible models" if local else "local models (local:, gguf:)"
        raise ConfigError(
            f"At model {str(spec)!r}: option {', '.join(misplaced)} applies only to {applies_to}. "
            "Remove it, or choose a model it applies to."
        )
    if spec.backend == "anthropic" and "seed" in options:
        raise ConfigError(
            f"At model {str(spec)!r}: Anthropic's Messages API has no 'seed' option. "
            "Remove it, or set temperature=0 for repeatable answers."
        )


def _api_key(spec: ModelSpec, options: dict[str, Any]) -> str:
    key = options.pop("api_key", None) or os.environ.get(_KEY_VARS[spec.backend])
    if not key:
        var = _KEY_VARS[spec.backend]
        raise MissingAPIKeyError(
            f"At model {str(spec)!r}: the environment variable {var} is not set. "
            f"Set it (export {var}=...) or pass api_key=..., or use a local model (--model local)."
        )
    return key


def _load_anthropic(spec: ModelSpec, options: dict[str, Any]) -> BaseChatModel:
    key = _api_key(spec, options)
    from langchain_anthropic import ChatAnthropic

    return ChatAnthropic(model=spec.name, api_key=key, **options)


def _load_openai(spec: ModelSpec, options: dict[str, Any]) -> BaseChatModel:
    key = _api_key(spec, options)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(model=spec.name, api_key=key, **options)


def _load_openai_compatible(spec: ModelSpec, options: dict[str, Any]) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    if "base_url" in options:
        raise ConfigError(
            f"At model {str(spec)!r}: base_url={options['base_url']!r} conflicts with the URL in the spec. "
            "Put the server's URL in the spec only: openai-compatible:<base_url>#<model>."
        )
    key = options.pop("api_key", None) or os.environ.get(OPENAI_COMPATIBLE_KEY_VAR) or OPENAI_COMPATIBLE_PLACEHOLDER_KEY
    if "max_tokens" in options:
        # ChatOpenAI sends max_tokens as max_completion_tokens, which llama-cpp-python's server
        # ignores; send the classic field too, which every compatible server reads.
        options["extra_body"] = {"max_tokens": options["max_tokens"], **options.get("extra_body", {})}
    options.setdefault("stream_usage", True)
    return ChatOpenAI(model=spec.name, base_url=spec.base_url, api_key=key, **options)


def _load_catalog_model(spec: ModelSpec, options: dict[str, Any]) -> BaseChatModel:
    from mcploom.local_models import resolve_model

    return _local_chat_model(spec, resolve_model(spec.name), options)


def _load_gguf(spec: ModelSpec, options: dict[str, Any]) -> BaseChatModel:
    path = Path(spec.name or "").expanduser()
    if not path.is_file():
        raise ConfigError(
            f"At model {str(spec)!r}: no GGUF file at {path.resolve()}. Check the path, or pick a "
            "catalog model with local:<name> (`mcploom models` lists them)."
        )
    return _local_chat_model(spec, path, options)


def _local_chat_model(spec: ModelSpec, path: Path, options: dict[str, Any]) -> BaseChatModel:
    """A ``ChatLlamaCpp`` on ``path``; the weights load on first use, once per process.

    ``local_models`` keeps one loaded ``Llama`` per (file, n_ctx, n_threads, n_gpu_layers), so
    chat models that differ only in sampling settings share it and its KV-cache prefix.
    """
    from langchain_core.language_models import BaseChatModel

    from mcploom.local_models import ChatLlamaCpp

    unknown = sorted(set(options) - set(ChatLlamaCpp.model_fields))
    if unknown:
        own = set(ChatLlamaCpp.model_fields) - set(BaseChatModel.model_fields) - {"model_path"}
        settings = ", ".join(name for name in ChatLlamaCpp.model_fields if name in own)
        raise ConfigError(
            f"At model {str(spec)!r}: unknown option {', '.join(unknown)} for a local model. "
            f"Local models take: {settings}."
        )
    return ChatLlamaCpp(model_path=str(path.resolve()), **options)


_LOADERS: dict[Backend, Callable[[ModelSpec, dict[str, Any]], BaseChatModel]] = {
    "local": _load_catalog_model,
    "gguf": _load_gguf,
    "anthropic": _load_anthropic,
    "openai": _load_openai,
    "openai-compatible": _load_openai_compatible,
}


_MODEL_ERRORS = (
    ("ModelRateLimitError", "is rate-limited (HTTP 429) and the retries ran out", "Wait a minute"),
    ("ModelTimeoutError", "did not answer in time", "Raise model_options timeout, or check the server's load"),
    (
        "ModelConnectionError",
        "could not be reached, or dropped the connection",
        "Check that the server runs and its URL",
    ),
    ("ModelAuthenticationError", "rejected the API key (HTTP 401)", "Check the key's environment variable"),
    ("ModelPermissionDeniedError", "refused the request (HTTP 403)", "Check that the key may use this model"),
    ("ModelNotFoundError", "does not know this model (HTTP 404)", "Check the model name in the spec"),
    (
        "ContextOverflowError",
        "got more text than its context holds",
        "Start a new thread, or use a model with a larger context",
    ),
    ("ModelInvalidRequestError", "rejected the request as invalid", "Check the model options"),
    ("ModelAPIError", "failed on the provider's side and the retries ran out", "Try again later"),
)
"""``langchain_core.exceptions`` model errors (provider-neutral: every LangChain provider raises
them), what each means and what to do, most specific first."""


def explain_model_error(exc: BaseException, model: str, thread_id: str) -> ModelCallError | None:
    """``exc`` as a :class:`ModelCallError` saying what failed and what to do, when it is a model
    error (``None`` otherwise).

    Example:
        >>> from langchain_core.exceptions import ModelRateLimitError
        >>> str(explain_model_error(ModelRateLimitError("slow down"), "anthropic:claude-x", "t1"))[:62]
        'The model anthropic:claude-x is rate-limited (HTTP 429) and th'
    """
    import langchain_core.exceptions as lc

    if not isinstance(exc, lc.ModelError):
        return None
    what, fix = "failed", "Try again later"
    for name, meaning, advice in _MODEL_ERRORS:
        if isinstance(exc, getattr(lc, name)):
            what, fix = meaning, advice
            break
    detail = " ".join(str(exc).split())[:300]
    return ModelCallError(
        f"The model {model} {what} ({type(exc).__name__}: {detail}). {fix}; the thread {thread_id} is saved "
        f"up to this step, so resume it (Agent.resume({thread_id!r}) or mcploom resume {thread_id})."
    )
