"""Quantized local GGUF models through llama-cpp-python, as LangChain chat models, plus a model catalog.

Example:
    >>> from mcploom.local_models import ChatLlamaCpp, resolve_model
    >>> model = ChatLlamaCpp(model_path=str(resolve_model()))  # doctest: +SKIP
    >>> model.invoke("Say hi").content  # doctest: +SKIP
    'Hi!'
"""

from mcploom.local_models.catalog import CATALOG, DEFAULT_MODEL, models_dir, pull_model, resolve_model
from mcploom.local_models.chat_model import ChatLlamaCpp
from mcploom.local_models.errors import ModelLoadError

__all__ = [
    "CATALOG",
    "DEFAULT_MODEL",
    "ChatLlamaCpp",
    "ModelLoadError",
    "models_dir",
    "pull_model",
    "resolve_model",
]
