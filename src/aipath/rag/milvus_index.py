"""Milvus as the vector index: a knowledge base's vectors on a Milvus server, or in a
Milvus Lite file, instead of FAISS files beside it.

A collection holds a row per dense window (``aipath.rag.windows``): an automatic primary
key, the chunk's id and the vector. Reads match ``DenseIndex`` (``search`` returns each
chunk id once, scored by its best window); writes go through
``aipath.rag.vector_store.MilvusStore``, which keeps them in step with the SQLite rows.

``uri`` is a server ("http://host:19530"; a token, if the server wants one, comes from
``AIPATH_MILVUS_TOKEN``) or a Milvus Lite file ("…/milvus.db"), which one process at a time
may open.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

import numpy as np

from aipath.rag.dense_index import INDEX_KINDS, best_distinct
from aipath.rag.errors import VectorStoreError

MAX_TOPK = 16_384  # the most results one Milvus search returns
BATCH = 2_000  # rows (or ids) a request: well under Milvus's 64 MB message limit
HNSW_PARAMS = {"M": 32, "efConstruction": 200}  # M as DenseIndex's FAISS HNSW
HNSW_EF = 128

_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def is_server(uri: str) -> bool:
    return uri.startswith(("http://", "https://", "tcp://", "unix:"))


def client(uri: str) -> "GuardedClient":
    """One ``MilvusClient`` a URI per process: a Milvus Lite file admits one opener."""
    with _clients_lock:
        if uri not in _clients:
            _clients[uri] = _connect(uri)
        return GuardedClient(_clients[uri], uri)


class GuardedClient:
    """A ``MilvusClient`` whose errors (a server gone, a collection dropped by another
    client) come out as ``VectorStoreError``, which the CLI and the API report as such."""

    def __init__(self, raw: Any, uri: str) -> None:
        self._raw, self._uri = raw, uri

    def __getattr__(self, name: str) -> Any:
        from pymilvus.exceptions import MilvusException

        method = getattr(self._raw, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except MilvusException as exc:
                raise VectorStoreError(f"Milvus at {self._uri} failed to {name.replace('_', ' ')}: "
                                       f"{exc.message}") from exc

        return call


def release(uri: str) -> None:
    """Close the client of ``uri``; for a Milvus Lite file, also stop its in-process server,
    which lets another process open the file (and this one delete it)."""
    with _clients_lock:
        opened = _clients.pop(uri, None)
    if opened is not None:
        opened.close()
    if not is_server(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def _connect(uri: str) -> Any:
    from pymilvus import MilvusClient

    # Milvus Lite logs a traceback when it cannot open its file; the error below says why.
    logging.getLogger("milvus_lite").setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, token=os.environ.get("AIPATH_MILVUS_TOKEN", ""))
    except Exception as exc:
        if is_server(uri):
            raise VectorStoreError(f"cannot reach Milvus at {uri} ({exc}); is the server running, "
                                   "and is AIPATH_MILVUS_TOKEN set if it asks for one?") from exc
        raise VectorStoreError(
            f"cannot open the Milvus Lite file {uri}. Milvus Lite serves one process at a "
            "time: if another aipath process uses this knowledge base (an `aipath serve`?), "
            "stop it, or keep the vectors on a Milvus server "
            "(`aipath kb create NAME --vector-store milvus --milvus-uri http://HOST:19530`)."
        ) from exc


class MilvusIndex:
    """One collection: create, fill, search, drop."""

    def __init__(self, uri: str, collection: str, dim: int, kind: str = "flat") -> None:
        assert kind in INDEX_KINDS, f"index kind must be one of {INDEX_KINDS}"
        self.lite = not is_server(uri)
        self.client = client(uri)
        self.collection, self.dim, self.kind = collection, dim, kind

    def exists(self) -> bool:
        return bool(self.client.has_collection(self.collection))

    def create(self) -> None:
        from pymilvus import DataType

        schema = self.client.create_schema(auto_id=True, enable_dynamic_field=False)
        schema.add_field("pk", DataType.INT64, is_primary=True)
        schema.add_field("chunk_id", DataType.INT64)
        schema.add_field("vector", DataType.FLOAT_VECTOR, dim=self.dim)
        params = self.client.prepare_index_params()
        if self.kind == "flat":
            params.add_index(field_name="vector", index_type="FLAT", metric_type="IP")
        else:
            params.add_index(field_name="vector", index_type="HNSW", metric_type="IP",
                             params=HNSW_PARAMS)
        # Session: this process's searches see its own writes at once, another process's
        # within the server's staleness bound (5 s by default; BM25 and SQLite see them at
        # once). Strong would make every search wait for the next time tick: 0.40 s against
        # 0.03 s a search on a Milvus 2.3 server here.
        self.client.create_collection(self.collection, schema=schema, index_params=params,
                                      consistency_level="Session")

    def ready(self) -> "MilvusIndex":
        """Loaded into memory, as searches need (a reopened Milvus Lite file starts released)."""
        from pymilvus.client.types import LoadState

        if self.client.get_load_state(self.collection)["state"] != LoadState.Loaded:
            self.client.load_collection(self.collection)
        return self

    def drop(self) -> None:
        self.client.drop_collection(self.collection)

    def __len__(self) -> int:
        """Counted each time: unlike a FAISS file, the collection changes under its readers."""
        result = self.client.query(self.collection, filter="", output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def insert(self, ids: list[int], vectors: np.ndarray) -> None:
        assert vectors.shape == (len(ids), self.dim), (
            f"expected vectors of shape ({len(ids)}, {self.dim}), got {vectors.shape}")
        for start in range(0, len(ids), BATCH):
            rows = [{"chunk_id": int(chunk_id), "vector": vector.tolist()}
                    for chunk_id, vector in zip(ids[start:start + BATCH], vectors[start:start + BATCH])]
            self.client.insert(self.collection, rows)
        if self.lite:  # Milvus Lite scans unsealed rows in Python: 1.5 s against 0.07 s at 40k rows
            self.client.flush(self.collection)

    def delete(self, ids: list[int]) -> None:
        for start in range(0, len(ids), BATCH):
            batch = ", ".join(str(int(i)) for i in ids[start:start + BATCH])
            self._delete_where(f"chunk_id in [{batch}]")

    def delete_above(self, last_id: int) -> None:
        """Drop the vectors of chunk ids never committed (a write that failed or crashed)."""
        self._delete_where(f"chunk_id > {int(last_id)}")

    def _delete_where(self, expression: str) -> None:
        """Delete the rows a Strong read finds: a writer in another process that crashed a
        moment ago may have inserted them, and a Session read might not see them yet; left
        behind, they would be pinned on the next chunks given their ids."""
        while True:
            rows = self.client.query(self.collection, filter=expression, output_fields=["pk"],
                                     limit=MAX_TOPK, consistency_level="Strong")
            if rows:
                self.client.delete(self.collection, ids=[row["pk"] for row in rows])
            if len(rows) < MAX_TOPK:
                return

    def rows(self) -> tuple[list[int], np.ndarray]:
        """Every (chunk id, vector), for copying the collection to another store."""
        ids: list[int] = []
        vectors: list[list[float]] = []
        log = logging.getLogger("pymilvus")
        level = log.level  # it warns that Milvus Lite and 2.3 servers lack a newer timestamp call
        log.setLevel(logging.ERROR)
        try:
            pages = self.client.query_iterator(self.collection, batch_size=BATCH, filter="",
                                               output_fields=["chunk_id", "vector"])
            while page := pages.next():
                ids += [int(row["chunk_id"]) for row in page]
                vectors += [row["vector"] for row in page]
            pages.close()
        finally:
            log.setLevel(level)
        return ids, np.asarray(vectors, dtype=np.float32).reshape(-1, self.dim)

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` best chunk ids, each scored by its best vector, best first."""
        if k <= 0:
            return []
        vector = np.asarray(query, dtype=np.float32).reshape(-1).tolist()

        def top(n: int) -> list[tuple[int, float]]:
            params: dict[str, Any] = {"metric_type": "IP"}
            if self.kind == "hnsw":  # Milvus wants ef of at least the results asked for
                params["params"] = {"ef": max(HNSW_EF, n)}
            found = self.client.search(self.collection, data=[vector], limit=n,
                                       output_fields=["chunk_id"], search_params=params)[0]
            return [(int(hit["entity"]["chunk_id"]), float(hit["distance"])) for hit in found]

        return best_distinct(top, k, MAX_TOPK)
