"""Run the OpenAI server on the tiny random-weight byte model (a subprocess of the HTTP tests).

``python tiny_server.py PORT NUM_BLOCKS MAX_WAITING MAX_NUM_SEQS LOAD_DELAY_S [API_KEY]``
"""

import sys
import time

import torch

from aipath.serve.config import EngineConfig
from aipath.serve.server import ServerConfig, serve
from serve_models import byte_llm, tiny_decoder


def load():
    time.sleep(float(sys.argv[5]))  # lets a test see /health answer 503 while "loading"
    return byte_llm(tiny_decoder())


if __name__ == "__main__":
    torch.set_num_threads(1)
    port, num_blocks, max_waiting, max_num_seqs = map(int, sys.argv[1:5])
    key = sys.argv[6] if len(sys.argv) > 6 else None
    engine = EngineConfig(block_size=4, num_blocks=num_blocks, max_waiting=max_waiting, max_num_seqs=max_num_seqs, max_num_batched_tokens=64)
    serve(load, engine, ServerConfig(model_name="tiny", api_key=key), port=port)
