"""Reranking: an interface, and a client for a TEI-compatible ``POST /rerank`` endpoint.

No cross-encoder weights can be had offline here, so there is no local reranker; point
``--rerank-url`` at a text-embeddings-inference server (e.g. running bge-reranker) to use one.
"""

from __future__ import annotations

from typing import Protocol


class Reranker(Protocol):
    def rerank(self, query: str, texts: list[str]) -> list[float]:
        """One relevance score per text, higher is better, aligned with ``texts``."""
        ...


class RerankError(RuntimeError):
    pass


class TEIReranker:
    """TEI's API: ``{"query", "texts"}`` → ``[{"index", "score"}, …]`` (any order)."""

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        import httpx

        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def rerank(self, query: str, texts: list[str]) -> list[float]:
        import httpx

        try:
            response = self._client.post(f"{self.url}/rerank",
                                         json={"query": query, "texts": texts, "truncate": True})
            response.raise_for_status()
            scores = [0.0] * len(texts)
            for item in response.json():
                scores[int(item["index"])] = float(item["score"])
            return scores
        except (httpx.HTTPError, KeyError, ValueError, IndexError, TypeError) as exc:
            raise RerankError(f"rerank endpoint {self.url} failed: {exc}") from exc
