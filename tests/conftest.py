"""Suite-wide fixture: one torch thread per test.

The tests run tiny tensors on a 2-core machine shared with other work; a second OpenMP
thread only adds waits there. Benchmarks, not tests, measure multi-threaded speed.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
