"""``aipath bench serve``: an OpenAI-compatible server under N concurrent streaming clients.

Each client sends one streaming ``/v1/completions`` request (greedy, ``ignore_eos`` so every
request makes exactly ``new_tokens`` tokens); prompts differ in length. Measured per
concurrency level: total output tokens/s over the wall time of the whole wave, time to
first token (TTFT) and inter-token latency (ITL) p50/p95, from the clients' side. Peers in
the same run: (a) the same requests one at a time through ``transformers`` ``generate``
(SmolLM2 from the same GGUF), (b) llama.cpp's ``llama-server`` with one slot per client,
when the binary is on PATH (``make peers`` builds it into the venv), else llama-cpp-python's
server (sequential) when installed.
A benchmark, not a test: numbers depend on the machine's load.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

TEXT = (
    "The history of computing is a story of abstraction layered on abstraction. Early machines were "
    "programmed by rewiring; then came stored programs, assemblers, compilers, operating systems and networks. "
)


@dataclass
class Row:
    system: str
    clients: int
    tokens_per_s: float
    ttft_p50: float | None = None
    ttft_p95: float | None = None
    itl_p50: float | None = None
    itl_p95: float | None = None
    load: float | None = None  # the machine's 1-minute load average when the wave started (others' work skews every figure)


def prompts(n: int) -> list[str]:
    """``n`` prompts of 1 to 4 sentences, so the batch mixes prompt lengths."""
    words = TEXT.split()
    return [f"Request {i}: " + " ".join(words[: 8 + (i * 7) % len(words)]) for i in range(n)]


async def _stream_one(client, url: str, model: str, prompt: str, new_tokens: int) -> tuple[float, list[float]]:  # noqa: ANN001 - httpx.AsyncClient
    """(TTFT, token arrival times) of one streaming request; one SSE chunk per token."""
    body = {"model": model, "prompt": prompt, "max_tokens": new_tokens, "temperature": 0, "stream": True, "ignore_eos": True}
    start, arrivals = time.perf_counter(), []
    async with client.stream("POST", f"{url}/v1/completions", json=body) as response:
        response.raise_for_status()
        async for line in response.aiter_lines():
            if line.startswith("data:") and line[5:].strip() != "[DONE]":
                choices = json.loads(line[5:]).get("choices") or [{}]
                if choices[0].get("text"):
                    arrivals.append(time.perf_counter())
    return arrivals[0] - start, arrivals


async def _wave(url: str, model: str, clients: int, new_tokens: int) -> Row:
    import httpx

    async with httpx.AsyncClient(timeout=600, limits=httpx.Limits(max_connections=clients + 4)) as client:
        await _stream_one(client, url, model, "warm up", 4)
        load = os.getloadavg()[0]
        start = time.perf_counter()
        results = await asyncio.gather(*(_stream_one(client, url, model, p, new_tokens) for p in prompts(clients)))
        wall = time.perf_counter() - start
    ttft = [r[0] for r in results]
    itl = [b - a for _, times in results for a, b in zip(times, times[1:])]
    tokens = sum(len(times) for _, times in results)
    return Row("", clients, tokens / wall, *np.percentile(ttft, [50, 95]), *np.percentile(itl, [50, 95]), load)


def measure_server(name: str, url: str, model: str, clients: list[int], new_tokens: int) -> list[Row]:
    rows = []
    for n in clients:
        row = asyncio.run(_wave(url, model, n, new_tokens))
        row.system = name
        rows.append(row)
    return rows


def transformers_one_at_a_time(new_tokens: int, requests: int = 2) -> Row:
    """``transformers`` float32 greedy ``generate``, requests back to back (its serving rate at any N)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from aipath.llm.local import SMOLLM2_FILE, smollm2_path

    folder = str(smollm2_path().parent)
    tok = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_FILE)
    hf = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_FILE, torch_dtype=torch.float32).eval()
    load, start = os.getloadavg()[0], time.perf_counter()
    for prompt in prompts(requests):
        ids = tok(prompt, return_tensors="pt")
        hf.generate(**ids, max_new_tokens=new_tokens, min_new_tokens=new_tokens, do_sample=False)
    return Row("transformers generate, one at a time", 1, requests * new_tokens / (time.perf_counter() - start), load=load)


def llama_server(clients: list[int], new_tokens: int) -> list[Row]:
    """llama.cpp as a server (restarted per level): ``llama-server`` with one parallel slot per
    client if it is on PATH, else llama-cpp-python's server (it answers one request at a time; told to queue the rest
    rather than interrupt the running one)."""
    import httpx

    from aipath.llm.local import smollm2_path

    model, threads = str(smollm2_path()), str(os.cpu_count() or 1)
    # `make peers` installs it beside this interpreter, which need not be on PATH.
    search_path = os.pathsep.join([os.path.dirname(sys.executable), os.environ.get("PATH", "")])
    binary = shutil.which("llama-server", path=search_path)
    if binary is not None:
        name, ready = "llama.cpp server", "/health"

        def command(port: int, n: int) -> list[str]:
            return [binary, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-t", threads, "-tb", threads,
                    "-np", str(n), "-c", str(n * (new_tokens + 128))]
    elif importlib.util.find_spec("llama_cpp") is not None:
        name, ready = "llama-cpp-python server (one request at a time)", "/v1/models"

        def command(port: int, n: int) -> list[str]:
            return [sys.executable, "-m", "llama_cpp.server", "--model", model, "--model_alias", "smollm2", "--host", "127.0.0.1",
                    "--port", str(port), "--n_threads", threads, "--n_ctx", "2048", "--interrupt_requests", "False"]
    else:
        return []
    rows = []
    for n in clients:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        with tempfile.TemporaryFile() as log:
            proc = subprocess.Popen(command(port, n), stdout=subprocess.DEVNULL, stderr=log)
            try:
                wait_healthy(f"http://127.0.0.1:{port}", proc=proc, path=ready)
                rows += measure_server(name, f"http://127.0.0.1:{port}", "smollm2", [n], new_tokens)
            except (RuntimeError, httpx.HTTPError) as error:
                # A broken peer must not cost the rows already measured; say why it failed.
                log.seek(0)
                tail = log.read().decode(errors="replace")[-1000:]
                print(f"{name} failed at {n} clients ({error}); no further rows for it. Its last output:\n{tail}",
                      file=sys.stderr)
                break
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    return rows


def wait_healthy(url: str, tries: int = 600, proc: subprocess.Popen | None = None, path: str = "/health") -> None:
    """Poll ``path`` every 0.1 s until 200; fail early if ``proc`` (the server) died."""
    import httpx

    for _ in range(tries):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with code {proc.returncode}")
        try:
            if httpx.get(f"{url}{path}", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not become healthy")


def run_bench(url: str, model: str, clients: list[int], new_tokens: int, peers: bool) -> list[Row]:
    wait_healthy(url)
    rows = measure_server(f"server at {url}", url, model, clients, new_tokens)
    if peers:
        rows.append(transformers_one_at_a_time(new_tokens))
        rows += llama_server(clients, new_tokens)
    return rows


def render_table(rows: list[Row]) -> str:
    """A Markdown table (for the README and the issue); latencies in ms, '-' where not measured.

    "× 1 client" is the row's throughput over the same system's 1-client row, the issue's
    batching target (8× at 16 clients). "load" is the 1-minute load average as the wave
    began: on a shared machine other work skews the figures, so they travel together."""

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v * 1000:.0f}"

    single = {r.system: r.tokens_per_s for r in rows if r.clients == 1}

    def scale(r: Row) -> str:
        return f"{r.tokens_per_s / single[r.system]:.1f}×" if r.system in single else "-"

    def load(r: Row) -> str:
        return "-" if r.load is None else f"{r.load:.1f}"

    lines = ["| system | clients | output tok/s | × 1 client | TTFT p50 ms | TTFT p95 ms | ITL p50 ms | ITL p95 ms | load |", "|---|---|---|---|---|---|---|---|---|"]
    lines += [f"| {r.system} | {r.clients} | {r.tokens_per_s:.1f} | {scale(r)} | {ms(r.ttft_p50)} | {ms(r.ttft_p95)} | {ms(r.itl_p50)} | {ms(r.itl_p95)} | {load(r)} |"
              for r in rows]
    return "\n".join(lines)
