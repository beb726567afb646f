"""``aipath serve-llm`` (the OpenAI-compatible server) and ``aipath bench serve``.

``aipath serve-llm`` serves SmolLM2-135M-Instruct (or ``--model``) on aipath's paged-KV
engine; anything that talks to vLLM talks to it: point document QA at it with
``--llm-url http://127.0.0.1:8000/v1 --llm-model smollm2``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from aipath.cli.bench import bench_app
from aipath.cli.common import HomeOption, console


def register(app: typer.Typer) -> None:
    app.command("serve-llm")(serve_llm)
    bench_app.command("serve")(bench_serve)


def serve_llm(
    model: Annotated[Optional[Path], typer.Option("--model", help="GGUF file or Hugging Face folder (default: SmolLM2-135M-Instruct).", show_default=False)] = None,
    served_model_name: Annotated[str, typer.Option(help="The name clients put in 'model'.")] = "smollm2",
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    api_key: Annotated[Optional[str], typer.Option(help="Require 'Authorization: Bearer KEY' on /v1 and /embed.", envvar="AIPATH_SERVE_KEY", show_default=False)] = None,
    dtype: Annotated[str, typer.Option(help="Weights in memory: float32, bfloat16 or int8 (weight-only).")] = "float32",
    device: Annotated[str, typer.Option(help="cpu, cuda or npu.")] = "cpu",
    block_size: Annotated[int, typer.Option(help="Tokens per KV-cache block.")] = 16,
    num_blocks: Annotated[int, typer.Option(help="KV-cache blocks (the memory budget of all requests together).")] = 1024,
    max_num_seqs: Annotated[int, typer.Option(help="Most requests in the running batch.")] = 64,
    max_num_batched_tokens: Annotated[int, typer.Option(help="Most tokens computed per step (longer prompts are chunked).")] = 512,
    max_waiting: Annotated[int, typer.Option(help="Queued requests beyond this get HTTP 429.")] = 256,
    threads: Annotated[Optional[int], typer.Option(help="torch threads (default: torch's choice).", show_default=False)] = None,
    home: HomeOption = None,
) -> None:
    """OpenAI-compatible server (chat/completions, embeddings, TEI /embed, /health, /metrics)."""
    import torch

    from aipath.llm import load_llm, load_local_llm
    from aipath.serve.config import EngineConfig
    from aipath.serve.server import ServerConfig, serve

    if threads:
        torch.set_num_threads(threads)
    engine = EngineConfig(block_size=block_size, num_blocks=num_blocks, max_num_seqs=max_num_seqs,
                          max_num_batched_tokens=max_num_batched_tokens, max_waiting=max_waiting, device=device)  # type: ignore[arg-type]

    def load():  # noqa: ANN202 - LocalLLM
        return load_llm(model, dtype, home) if model else load_local_llm(dtype, home=home)  # type: ignore[arg-type]

    console.print(f"serving [bold]{served_model_name}[/] on http://{host}:{port}/v1 (health: /health, metrics: /metrics)")
    serve(load, engine, ServerConfig(model_name=served_model_name, api_key=api_key), host, port)


def bench_serve(
    url: Annotated[str, typer.Option(help="A running OpenAI-compatible server (aipath serve-llm, vLLM, …).")] = "http://127.0.0.1:8000",
    model: Annotated[str, typer.Option(help="Model name at the server.")] = "smollm2",
    clients: Annotated[str, typer.Option(help="Comma-separated concurrency levels.")] = "1,4,16,64",
    new_tokens: Annotated[int, typer.Option(help="Tokens generated per request.")] = 128,
    peers: Annotated[bool, typer.Option(help="Also run transformers one at a time and llama.cpp's server (if installed).")] = True,
) -> None:
    """Total output tokens/s, time to first token and inter-token latency p50/p95 at N concurrent clients."""
    from aipath.bench.serve import render_table, run_bench

    rows = run_bench(url, model, [int(c) for c in clients.split(",")], new_tokens, peers)
    typer.echo(render_table(rows))  # plain Markdown, unwrapped: it goes into the README and the issue
