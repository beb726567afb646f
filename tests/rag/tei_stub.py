"""A tiny TEI-compatible HTTP server on 127.0.0.1 for testing the remote clients' wire format.

Its "embedding" is a deterministic bag of hashed character trigrams — not a model; the
tests use it only where what matters is the protocol and the stored dimension.
"""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


def hashed_vector(text: str, dim: int) -> list[float]:
    v = np.zeros(dim)
    for i in range(len(text) - 2):
        v[int(hashlib.md5(text[i:i + 3].encode()).hexdigest(), 16) % dim] += 1
    return (v / max(np.linalg.norm(v), 1e-9)).tolist()


class TEIStub:
    def __init__(self, dim: int = 8) -> None:
        self.dim = dim
        self.requests: list[tuple[str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                stub.requests.append((self.path, body))
                if self.path == "/embed":
                    out = [hashed_vector(t, stub.dim) for t in body["inputs"]]
                elif self.path == "/v1/embeddings":
                    out = {"data": [{"index": i, "embedding": hashed_vector(t, stub.dim)}
                                    for i, t in reversed(list(enumerate(body["input"])))]}
                elif self.path == "/rerank":
                    q = set(body["query"].lower().split())
                    scores = [len(q & set(t.lower().split())) for t in body["texts"]]
                    out = [{"index": i, "score": s} for i, s in sorted(enumerate(scores), key=lambda x: -x[1])]
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(out).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
