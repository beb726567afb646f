"""Fixtures for the serving tests (the helpers live in ``serve_models``)."""

from __future__ import annotations

import pytest
import torch

from aipath.llm.decoder import Decoder
from serve_models import tiny_decoder


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny tensors on a shared 2-core machine: a second OpenMP thread only adds waits."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model() -> Decoder:
    return tiny_decoder()
