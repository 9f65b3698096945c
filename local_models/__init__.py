"""Quantized local GGUF models through llama-cpp-python, as LangChain chat models, plus a model catalog."""
