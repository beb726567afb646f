"""Black-box tests of the OpenAI-compatible server: a live uvicorn process, the official client."""

from __future__ import annotations

import asyncio
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from aipath.config import LLMEndpoint
from aipath.serve.chat_backends import OpenAIChat
from serve_models import CHAT_TEMPLATE, EOS, detokenize, one_at_a_time, tiny_decoder

HERE = Path(__file__).parent
MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is a KV cache?"}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(*args: str) -> tuple[subprocess.Popen, str, list[int]]:
    """Start ``tiny_server.py``; return the process, its URL and the /health codes seen until ready."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(HERE / "tiny_server.py"), str(port), *args], cwd=HERE)
    url, seen = f"http://127.0.0.1:{port}", []
    for _ in range(600):  # up to ~60 s on a busy machine
        assert proc.poll() is None, "server process died"
        try:
            seen.append(httpx.get(f"{url}/health", timeout=5).status_code)
            if seen[-1] == 200:
                return proc, url, seen
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("server did not become ready")


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server():
    proc, url, seen = start_server("256", "64", "64", "1.0")
    yield url, seen
    stop(proc)


@pytest.fixture(scope="module")
def guarded():
    """One running slot, one waiting slot, an API key: for 401, 429 and disconnects."""
    proc, url, _ = start_server("256", "1", "1", "0", "sekret")
    yield url
    stop(proc)


@pytest.fixture(scope="module")
def model():
    return tiny_decoder()


def client(url: str, key: str = "none") -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=key, max_retries=0, timeout=60)


def oracle_text(model, prompt: str, max_tokens: int) -> str:
    return detokenize(one_at_a_time(model, list(prompt.encode()), max_tokens, frozenset({EOS})))


def chat_prompt(messages: list[dict]) -> str:
    from aipath.llm.chat_template import render_chat

    return render_chat(CHAT_TEMPLATE, messages, True, bos_token="", eos_token="<eos>")


def metric(url: str, name: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    return float(re.search(rf"^vllm:{re.escape(name)}(?:{{[^}}]*}})? (\S+)$", text, re.M).group(1))


def test_health_is_503_while_loading_then_200(server):
    _, seen = server
    assert seen[0] == 503 and seen[-1] == 200


def test_chat_streaming_and_non_streaming_agree_with_the_generate_loop(server, model):
    url, _ = server
    c = client(url)
    whole = c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=24, temperature=0)
    chunks = list(c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=24, temperature=0, stream=True, stream_options={"include_usage": True}))
    streamed = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert streamed == whole.choices[0].message.content == oracle_text(model, chat_prompt(MESSAGES), 24)
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == whole.choices[0].finish_reason
    assert chunks[-1].usage.model_dump() == whole.usage.model_dump()
    assert whole.usage.prompt_tokens == len(chat_prompt(MESSAGES).encode())


def test_sixteen_concurrent_completions_equal_sequential_ones(server, model):
    url, _ = server
    prompts = ["The engine " * (1 + i) + str(i) for i in range(16)]  # 12 … 177 tokens

    async def run_all():
        async with openai.AsyncOpenAI(base_url=f"{url}/v1", api_key="none", max_retries=0, timeout=120) as ac:
            return await asyncio.gather(*(ac.completions.create(model="tiny", prompt=p, max_tokens=16, temperature=0) for p in prompts))

    concurrent = [r.choices[0].text for r in asyncio.run(run_all())]
    assert concurrent == [oracle_text(model, p, 16) for p in prompts]
    sequential = [client(url).completions.create(model="tiny", prompt=p, max_tokens=16, temperature=0).choices[0].text for p in prompts[:3]]
    assert sequential == concurrent[:3]
    assert metric(url, "prefix_cache_hits_total") > 0  # the repeated prompts above hit the prefix cache


def test_stop_seed_and_logprobs(server):
    c = client(server[0])
    full = c.completions.create(model="tiny", prompt="abc", max_tokens=20, temperature=0).choices[0]
    cut = full.text[4:6]
    stopped = c.completions.create(model="tiny", prompt="abc", max_tokens=20, temperature=0, stop=[cut]).choices[0]
    assert stopped.text == full.text[: full.text.index(cut)] and stopped.finish_reason == "stop"
    seeded = [c.completions.create(model="tiny", prompt="abc", max_tokens=12, temperature=1.0, seed=s).choices[0].text for s in (5, 5, 6)]
    assert seeded[0] == seeded[1] != seeded[2]
    lp = c.completions.create(model="tiny", prompt="abc", max_tokens=5, temperature=0, logprobs=2).choices[0].logprobs
    assert len(lp.tokens) == 5 and all(len(t) == 2 for t in lp.top_logprobs)
    assert all(max(t.values()) == pytest.approx(v) for t, v in zip(lp.top_logprobs, lp.token_logprobs))  # greedy picks the top
    whole = c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=6, temperature=0, logprobs=True, top_logprobs=3)
    streamed = c.chat.completions.create(model="tiny", messages=MESSAGES, max_tokens=6, temperature=0, logprobs=True, top_logprobs=3, stream=True)
    stream_lps = [e for ch in streamed if ch.choices and ch.choices[0].logprobs for e in ch.choices[0].logprobs.content]
    assert [e.model_dump() for e in stream_lps] == [e.model_dump() for e in whole.choices[0].logprobs.content]
    assert len(stream_lps) == 6 and all(len(e.top_logprobs) == 3 for e in stream_lps)


def test_error_paths(server):
    url, _ = server
    c = client(url)
    bad = [dict(temperature=5), dict(n=2), dict(top_p=0), dict(max_tokens=0), dict(messages=[])]
    for kw in bad:
        with pytest.raises(openai.BadRequestError) as err:
            c.chat.completions.create(**{"model": "tiny", "messages": MESSAGES, **kw})
        assert err.value.status_code == 400 and err.value.body["type"] == "invalid_request_error"
    with pytest.raises(openai.BadRequestError, match="at most"):
        c.completions.create(model="tiny", prompt="x" * 600)
    with pytest.raises(openai.NotFoundError):
        c.chat.completions.create(model="gpt-4", messages=MESSAGES)
    assert httpx.get(f"{url}/v1/nothing-here").json()["error"]["code"] == 404
    assert [m.id for m in c.models.list().data] == ["tiny"]


def test_api_key_queue_limit_and_disconnect(guarded):
    url = guarded
    with pytest.raises(openai.AuthenticationError):
        client(url, "wrong").models.list()
    c = client(url, "sekret")
    long = dict(model="tiny", prompt="abc", max_tokens=480, temperature=0, stream=True, extra_body={"ignore_eos": True})
    running = c.completions.create(**long)
    next(iter(running))  # the only running slot is taken
    waiting = c.completions.create(**long)  # headers come back at once: it is queued
    with pytest.raises(openai.RateLimitError):
        c.completions.create(model="tiny", prompt="abc", max_tokens=4)
    running.close()
    waiting.close()
    for _ in range(200):
        if metric(url, "num_requests_running") == 0 and metric(url, "num_requests_waiting") == 0:
            break
        time.sleep(0.05)
    assert metric(url, "kv_cache_usage_perc") == 0.0
    assert 'finished_reason="abort"} 2' in httpx.get(f"{url}/metrics").text


def test_openai_chat_backend_streams_from_the_server(server, model):
    url, _ = server
    backend = OpenAIChat(LLMEndpoint(url=f"{url}/v1", model="tiny"))
    deltas = list(backend.stream(MESSAGES, max_tokens=20, temperature=0.0))
    assert len(deltas) > 1 and "".join(deltas) == oracle_text(model, chat_prompt(MESSAGES), 20)


def test_metrics_use_vllm_names(server):
    text = httpx.get(f"{server[0]}/metrics").text
    for name in ("num_requests_running", "num_requests_waiting", "kv_cache_usage_perc", "prompt_tokens_total", "generation_tokens_total",
                 "time_to_first_token_seconds_bucket", "inter_token_latency_seconds_count", "e2e_request_latency_seconds_sum",
                 "prefix_cache_queries_total", "prefix_cache_hits_total"):
        assert f"vllm:{name}" in text
    assert metric(server[0], "generation_tokens_total") > 0


def test_embeddings_openai_and_tei_match_the_minilm_embedder(server):
    import numpy as np

    from aipath.rag.embeddings import get_embedder

    url, _ = server
    texts = ["paged attention", "a KV cache in blocks"]
    try:
        expected = get_embedder("minilm").embed(texts)
    except Exception as exc:  # the MiniLM weights package is optional
        pytest.skip(f"MiniLM unavailable: {exc}")
    for fmt in (openai.NOT_GIVEN, "float"):  # unless told otherwise, the client asks for base64 and decodes it
        data = client(url).embeddings.create(model="minilm", input=texts, encoding_format=fmt).data
        assert np.allclose([d.embedding for d in data], expected, atol=1e-5)
    tei = httpx.post(f"{url}/embed", json={"inputs": texts[1]}, timeout=60).json()
    assert np.allclose(tei, expected[1:], atol=1e-5)


def test_graceful_shutdown_ends_in_flight_streams_cleanly():
    proc, url, _ = start_server("256", "64", "64", "0")
    try:
        stream = client(url).completions.create(model="tiny", prompt="abc", max_tokens=480, temperature=0, stream=True, extra_body={"ignore_eos": True})
        chunks = iter(stream)
        next(chunks)
        proc.terminate()  # SIGTERM: uvicorn stops accepting, lets the stream finish, then the engine stops
        rest = list(chunks)
        assert rest[-1].choices[0].finish_reason in ("length", "abort")
        assert proc.wait(timeout=30) in (0, -15)  # uvicorn re-raises the SIGTERM it handled once shut down
    finally:
        stop(proc)
