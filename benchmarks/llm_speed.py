"""Local model speed through ``ChatLlamaCpp`` against raw llama-cpp-python, on the default GGUF model.

1. Generation tokens/s, plain text (no tools): ``ChatLlamaCpp`` against ``Llama.create_completion``
   on the same rendered prompt, the same shared ``Llama`` instance (so the same load settings),
   the same sampling parameters (``ChatLlamaCpp``'s defaults: greedy, top-k 40, top-p 0.95,
   min-p 0.05, repeat penalty 1.1) and the same ``max_tokens``. Prompt evaluation is kept out:
   the prompt is evaluated once before timing, so every timed call finds it in the KV cache and
   decodes one token of it (both sides alike). Two modes, interleaved A/B with the order
   alternating each round: the whole call (``invoke`` vs ``create_completion``) and streaming,
   timed from the first streamed token to the last. Goal: ratio >= 0.95. Under a noisy load the
   wall-clock ratio swings by tens of percent from call to call, so two load-robust figures come
   with it: CPU time per token, and wall time per token spent outside llama.cpp's decode
   (``Llama.eval`` timed), plus ChatLlamaCpp's own Python work per token with inference replayed.
2. Time to first token of turn 5 against turn 1 of a growing 5-turn chat on one ``ChatLlamaCpp``,
   streaming. Each repetition starts a fresh conversation from a cold cache (an unrelated prompt
   is evaluated first, so turn 1 evaluates its whole prompt). Goal: turn 5 / turn 1 <= 1.5. For
   scale, turn 5's prompt is also timed from a cold cache.

Run it with ``python -m benchmarks.llm_speed [--quick] [--out FILE]``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before llama.cpp starts its OpenMP threads

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage  # noqa: E402

from benchmarks._common import cpu_name  # noqa: E402
from mcploom.local_models import ChatLlamaCpp, resolve_model  # noqa: E402
from mcploom.local_models._llama import LoadedModel, load_llama  # noqa: E402
from mcploom.local_models.chat_model import _to_chat_messages  # noqa: E402  (the exact rendering ChatLlamaCpp uses)

ESSAY = [
    SystemMessage("You are a helpful assistant."),
    HumanMessage(
        "Write a long, detailed essay on the history of the Python programming language, "
        "from its origins to today, with many sections."
    ),
]
"""A prompt whose answer runs far past ``max_tokens``, so every call generates exactly that many."""

CHAT_SYSTEM = "You are a friendly travel assistant. Answer in a few short paragraphs."
CHAT_TURNS = [
    "I'm planning a three-day trip to Lisbon in spring. Which neighbourhoods are good to stay in?",
    "Which of those is best for someone who likes live music and going out at night?",
    "How do I get from the airport to that neighbourhood without renting a car?",
    "What are two good day trips from the city that I can do by train?",
    "What should I pack for the weather there at that time of year?",
]
"""Five user turns of similar length (15-20 tokens each), as a real chat would have."""

UNRELATED = (
    "Gardening notes: tomatoes need six to eight hours of sun, deep watering twice a week, "
    "and a stake or cage once the first flowers appear."
)
"""Evaluated before each repetition so turn 1 starts from a cold cache (no shared prefix)."""


@dataclass
class Speeds:
    """Per-call tokens/s of each side, in the order measured."""

    ours: list[float] = field(default_factory=list)
    raw: list[float] = field(default_factory=list)
    ours_cpu: list[float] = field(default_factory=list)
    """Process CPU seconds (all threads) per generated token, whole call."""
    raw_cpu: list[float] = field(default_factory=list)
    ours_outside: list[float] = field(default_factory=list)
    """Wall seconds per generated token spent outside ``Llama.eval`` (llama.cpp's decode), whole call."""
    raw_outside: list[float] = field(default_factory=list)
    mismatches: int = 0


def _raw_params(model: ChatLlamaCpp, loaded: LoadedModel) -> dict[str, Any]:
    """The sampling arguments ChatLlamaCpp passes to ``create_completion``, written out for the raw side."""
    params = {
        "max_tokens": model.max_tokens,
        "temperature": model.temperature,
        "top_k": model.top_k,
        "top_p": model.top_p,
        "min_p": model.min_p,
        "repeat_penalty": model.repeat_penalty,
        "frequency_penalty": model.frequency_penalty,
        "presence_penalty": model.presence_penalty,
        "seed": model.seed,
    }
    assert params == model._sampling({}), "ChatLlamaCpp's sampling changed; update this benchmark."
    return {**params, "stop": [loaded.eos_token]}


def _ours_invoke(model: ChatLlamaCpp) -> tuple[float, str]:
    started = time.perf_counter()
    message = model.invoke(ESSAY)
    elapsed = time.perf_counter() - started
    return model.max_tokens / elapsed, message.text


def _raw_call(loaded: LoadedModel, prompt: str, params: dict[str, Any]) -> tuple[float, str]:
    with loaded.lock:
        started = time.perf_counter()
        out = loaded.llama.create_completion(prompt, **params)
        elapsed = time.perf_counter() - started
    assert out["usage"]["completion_tokens"] == params["max_tokens"], out["usage"]
    return params["max_tokens"] / elapsed, out["choices"][0]["text"]


def _ours_stream(model: ChatLlamaCpp) -> tuple[float, str]:
    stamps: list[float] = []
    pieces: list[str] = []
    for chunk in model.stream(ESSAY):
        if chunk.content:
            stamps.append(time.perf_counter())
            pieces.append(chunk.text)
    # max_tokens tokens were generated; the rate runs from the first token's arrival to the last's.
    return (model.max_tokens - 1) / (stamps[-1] - stamps[0]), "".join(pieces)


def _raw_stream(loaded: LoadedModel, prompt: str, params: dict[str, Any]) -> tuple[float, str]:
    stamps: list[float] = []
    pieces: list[str] = []
    with loaded.lock:
        for part in loaded.llama.create_completion(prompt, stream=True, **params):
            text = part["choices"][0]["text"]
            if text:
                stamps.append(time.perf_counter())
                pieces.append(text)
    return (params["max_tokens"] - 1) / (stamps[-1] - stamps[0]), "".join(pieces)


def generation_speed(model: ChatLlamaCpp, rounds: int) -> dict[str, Speeds]:
    """Tokens/s of ChatLlamaCpp and raw llama-cpp-python, interleaved, for both modes."""
    loaded = load_llama(model.model_path, model.n_ctx, model.n_threads, model.n_gpu_layers)
    prompt = loaded.render(_to_chat_messages(ESSAY, None, loaded), None)
    params = _raw_params(model, loaded)
    _, reference = _raw_call(loaded, prompt, params)  # evaluates the prompt: it stays cached from here on
    modes = {
        "call": (lambda: _ours_invoke(model), lambda: _raw_call(loaded, prompt, params)),
        "stream": (lambda: _ours_stream(model), lambda: _raw_stream(loaded, prompt, params)),
    }
    results = {mode: Speeds() for mode in modes}
    # Time llama.cpp's decode calls: wall time outside them is what each side adds per token (Python
    # sampling and detokenising in llama-cpp-python, plus ChatLlamaCpp's own work), which load barely moves.
    decode_s: list[float] = []
    eval_ = loaded.llama.eval

    def timed_eval(tokens: Any) -> None:
        started = time.perf_counter()
        eval_(tokens)
        decode_s.append(time.perf_counter() - started)

    loaded.llama.eval = timed_eval
    try:
        for round_ in range(rounds):
            for mode, (ours, raw) in modes.items():
                order = [("ours", ours), ("raw", raw)] if round_ % 2 == 0 else [("raw", raw), ("ours", ours)]
                for side, call in order:
                    decode_s.clear()
                    cpu_started, wall_started = time.process_time(), time.perf_counter()
                    speed, text = call()
                    wall = time.perf_counter() - wall_started
                    cpu = (time.process_time() - cpu_started) / params["max_tokens"]
                    getattr(results[mode], side).append(speed)
                    getattr(results[mode], f"{side}_cpu").append(cpu)
                    getattr(results[mode], f"{side}_outside").append((wall - sum(decode_s)) / params["max_tokens"])
                    results[mode].mismatches += text != reference
    finally:
        del loaded.llama.eval  # back to the class's method
    return results


class _Replay:
    """Stands in for ``Llama``: answers ``create_completion`` instantly with a recorded stream."""

    def __init__(self, llama: Any, parts: list[dict[str, Any]], whole: dict[str, Any]) -> None:
        self.llama, self.parts, self.whole = llama, parts, whole

    def create_completion(self, prompt: str, *, stream: bool = False, **_: Any) -> Any:
        return iter(self.parts) if stream else self.whole

    def tokenize(self, *args: Any, **kwargs: Any) -> list[int]:
        return self.llama.tokenize(*args, **kwargs)


def python_overhead(model: ChatLlamaCpp, calls: int = 50) -> dict[str, float]:
    """Seconds per token that ChatLlamaCpp adds around llama-cpp-python, with inference taken out.

    The real stream for the benchmark prompt is recorded once, then replayed instantly in place of
    the shared ``Llama`` (restored afterwards), so what remains is ChatLlamaCpp's own Python work:
    rendering, tokenising for usage, chunk building and merging, LangChain's callbacks.
    """
    loaded = load_llama(model.model_path, model.n_ctx, model.n_threads, model.n_gpu_layers)
    prompt = loaded.render(_to_chat_messages(ESSAY, None, loaded), None)
    params = _raw_params(model, loaded)
    with loaded.lock:
        parts = list(loaded.llama.create_completion(prompt, stream=True, **params))
        whole = loaded.llama.create_completion(prompt, **params)
    real = loaded.llama
    loaded.llama = _Replay(real, parts, whole)
    try:
        per_token = {}
        for label, call in (("invoke", lambda: model.invoke(ESSAY)), ("stream", lambda: list(model.stream(ESSAY)))):
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                call()
                samples.append(time.perf_counter() - started)
            per_token[label] = statistics.median(samples) / model.max_tokens
        return per_token
    finally:
        loaded.llama = real


@dataclass
class Conversation:
    """One repetition of the 5-turn chat."""

    ttft: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    reply_tokens: list[int] = field(default_factory=list)
    turn5_cold: float = 0.0


def _cold_cache(loaded: LoadedModel) -> None:
    with loaded.lock:
        loaded.llama.create_completion(UNRELATED, max_tokens=1)


def _first_token(model: ChatLlamaCpp, history: list[BaseMessage]) -> tuple[float, str, int, int]:
    """Seconds to the first streamed token, the reply, and prompt / reply token counts."""
    started = time.perf_counter()
    first = 0.0
    pieces: list[str] = []
    usage: dict[str, Any] = {}
    for chunk in model.stream(history):
        if chunk.content and not first:
            first = time.perf_counter() - started
        pieces.append(chunk.text)
        usage = chunk.usage_metadata or usage
    return first, "".join(pieces), usage.get("input_tokens", 0), usage.get("output_tokens", 0)


def first_token_by_turn(model: ChatLlamaCpp, repetitions: int) -> list[Conversation]:
    """TTFT of each turn of a fresh 5-turn conversation, ``repetitions`` times."""
    loaded = load_llama(model.model_path, model.n_ctx, model.n_threads, model.n_gpu_layers)
    runs = []
    for _ in range(repetitions):
        run = Conversation()
        _cold_cache(loaded)
        history: list[BaseMessage] = [SystemMessage(CHAT_SYSTEM)]
        for question in CHAT_TURNS:
            history.append(HumanMessage(question))
            ttft, reply, prompt_tokens, reply_tokens = _first_token(model, history)
            run.ttft.append(ttft)
            run.prompt_tokens.append(prompt_tokens)
            run.reply_tokens.append(reply_tokens)
            history.append(AIMessage(reply))
        _cold_cache(loaded)
        run.turn5_cold = _first_token(model, history[:-1])[0]  # turn 5's prompt, nothing cached
        runs.append(run)
    return runs


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def render(
    gen: dict[str, Speeds],
    overhead: dict[str, float],
    chat: list[Conversation],
    model: ChatLlamaCpp,
    rounds: int,
    tokens: int,
    load: tuple[str, str],
) -> str:
    lines = [
        "## Local model speed: `ChatLlamaCpp` vs raw llama-cpp-python (`benchmarks/llm_speed.py`)",
        "",
        f"Hardware: {cpu_name()}, `nproc` {os.cpu_count()}, load average {load[0]} at start and {load[1]} at end; "
        f"Python {platform.python_version()}, llama-cpp-python {version('llama-cpp-python')} (CPU), "
        f"langchain-core {version('langchain-core')}. Model: `{Path(model.model_path).name}`, "
        f"n_ctx {model.n_ctx}, threads {model.n_threads or os.cpu_count()}, `OMP_WAIT_POLICY=PASSIVE`. "
        f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
        "",
        f"Generation, plain text, {tokens} tokens per call, greedy with ChatLlamaCpp's sampling defaults "
        f"passed identically to the raw call; prompt already cached (excluded); {rounds} rounds per mode, "
        "A/B order alternating each round:",
        "",
        "| mode | ChatLlamaCpp median tok/s | raw median tok/s | ratio of medians | median paired ratio "
        "| CPU ms/token ChatLlamaCpp / raw | ms/token outside decode ChatLlamaCpp / raw | outputs differing |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    labels = {
        "call": "`invoke` vs `create_completion` (whole call)",
        "stream": "`stream` vs `create_completion(stream=True)` (first token to last)",
    }
    for mode, speeds in gen.items():
        ours, raw = statistics.median(speeds.ours), statistics.median(speeds.raw)
        paired = statistics.median(a / b for a, b in zip(speeds.ours, speeds.raw, strict=True))
        lines.append(
            f"| {labels[mode]} | {ours:.2f} | {raw:.2f} | **{ours / raw:.3f}** (goal >= 0.95) | {paired:.3f} "
            f"| {statistics.median(speeds.ours_cpu) * 1000:.0f} / {statistics.median(speeds.raw_cpu) * 1000:.0f} "
            f"| {statistics.median(speeds.ours_outside) * 1000:.2f} / {statistics.median(speeds.raw_outside) * 1000:.2f} "
            f"| {speeds.mismatches} of {2 * len(speeds.ours)} |"
        )
    lines += ["", "Per-call tok/s in measured order (ChatLlamaCpp/raw):", ""]
    for mode, speeds in gen.items():
        pairs = ", ".join(f"{a:.2f}/{b:.2f}" for a, b in zip(speeds.ours, speeds.raw, strict=True))
        lines.append(f"- {mode}: {pairs}")
    decode = 1 / statistics.median(gen["call"].raw)
    lines += [
        "",
        "ChatLlamaCpp's own Python work per generated token (a whole call of "
        f"{tokens} tokens, per-call costs included, divided by {tokens}), inference taken out (the recorded "
        "llama stream replayed instantly), and the ratio it implies at this machine's raw decode time of "
        f"{decode * 1000:.0f} ms/token:",
        "",
        "| path | overhead µs/token | implied ratio |",
        "|---|---:|---:|",
    ]
    for label, seconds in overhead.items():
        lines.append(f"| `{label}` | {seconds * 1e6:.0f} | {decode / (decode + seconds):.4f} |")
    turns = len(CHAT_TURNS)
    medians = [statistics.median(run.ttft[i] for run in chat) for i in range(turns)]
    ratios = [run.ttft[-1] / run.ttft[0] for run in chat]
    lines += [
        "",
        f"Time to first token by turn, 5-turn chat on one `ChatLlamaCpp` (`stream`, replies capped at "
        f"{model.max_tokens} tokens), {len(chat)} repetitions, each a fresh conversation from a cold cache:",
        "",
        "| turn | prompt tokens | median TTFT s | TTFT s per repetition |",
        "|---:|---:|---:|---|",
    ]
    for i in range(turns):
        per_run = ", ".join(f"{run.ttft[i]:.2f}" for run in chat)
        lines.append(f"| {i + 1} | {chat[0].prompt_tokens[i]} | {medians[i]:.2f} | {per_run} |")
    cold = statistics.median(run.turn5_cold for run in chat)
    lines += [
        f"| 5, cold cache (for scale) | {chat[0].prompt_tokens[-1]} | {cold:.2f} "
        f"| {', '.join(f'{run.turn5_cold:.2f}' for run in chat)} |",
        "",
        f"**Turn 5 / turn 1: {statistics.median(ratios):.2f}** (median of per-repetition ratios "
        f"{', '.join(f'{r:.2f}' for r in ratios)}; ratio of medians {medians[-1] / medians[0]:.2f}); goal <= 1.5. "
        f"Reply tokens per turn (first repetition): {', '.join(str(n) for n in chat[0].reply_tokens)}.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="A short run (2 rounds of 16 tokens, 1 conversation).")
    parser.add_argument("--rounds", type=int, default=8, help="A/B rounds per generation mode (default 8).")
    parser.add_argument("--tokens", type=int, default=32, help="Tokens per generation call (default 32).")
    parser.add_argument("--repetitions", type=int, default=3, help="5-turn conversations (default 3).")
    parser.add_argument("--reply-tokens", type=int, default=64, help="Cap on each chat reply (default 64).")
    parser.add_argument("--out", type=Path, help="Also write the markdown table to this file.")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.tokens, args.repetitions, args.reply_tokens = 2, 16, 1, 32
    path = str(resolve_model())
    start_load = _load()
    gen_model = ChatLlamaCpp(model_path=path, max_tokens=args.tokens)
    gen = generation_speed(gen_model, args.rounds)
    overhead = python_overhead(gen_model)
    chat_model = ChatLlamaCpp(model_path=path, max_tokens=args.reply_tokens)
    chat = first_token_by_turn(chat_model, args.repetitions)
    table = render(gen, overhead, chat, chat_model, args.rounds, args.tokens, (start_load, _load()))
    if args.out:
        args.out.write_text(table)
    print(table)


if __name__ == "__main__":
    main()
