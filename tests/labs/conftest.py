"""Tiny models: one torch thread, so the suite is not slowed by threads spinning on 2 cores."""

import torch

torch.set_num_threads(1)
