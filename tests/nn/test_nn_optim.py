"""Hand-written optimisers and schedules against torch.optim, step for step."""

import copy

import pytest
import torch
from torch import nn

from aipath.nn import schedules
from aipath.nn.optim import SGD, Adam


def _model():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 2)).double()


CASES = [
    (lambda p: SGD(p, 0.1), lambda p: torch.optim.SGD(p, 0.1)),
    (lambda p: SGD(p, 0.05, momentum=0.9, weight_decay=1e-3),
     lambda p: torch.optim.SGD(p, 0.05, momentum=0.9, weight_decay=1e-3)),
    (lambda p: SGD(p, 0.05, momentum=0.8, nesterov=True),
     lambda p: torch.optim.SGD(p, 0.05, momentum=0.8, nesterov=True)),
    (lambda p: Adam(p, 1e-2), lambda p: torch.optim.Adam(p, 1e-2)),
    (lambda p: Adam(p, 1e-2, betas=(0.8, 0.99), weight_decay=1e-2),
     lambda p: torch.optim.Adam(p, 1e-2, betas=(0.8, 0.99), weight_decay=1e-2)),
    (lambda p: Adam(p, 1e-2, weight_decay=0.1, decoupled=True),
     lambda p: torch.optim.AdamW(p, 1e-2, weight_decay=0.1)),
]


@pytest.mark.parametrize("ours,ref", CASES)
def test_optimizer_matches_torch_step_for_step(ours, ref):
    a = _model()
    b = copy.deepcopy(a)
    opt_a, opt_b = ours(a.parameters()), ref(b.parameters())
    gen = torch.Generator().manual_seed(1)
    for _ in range(25):
        x = torch.randn(16, 5, generator=gen, dtype=torch.float64)
        y = torch.randint(0, 2, (16,), generator=gen)
        for model, opt in ((a, opt_a), (b, opt_b)):
            opt.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            opt.step()
        for pa, pb in zip(a.parameters(), b.parameters()):
            torch.testing.assert_close(pa, pb, rtol=1e-12, atol=1e-13)


def _torch_lrs(make_sched, steps=30, base=0.5):
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=base)
    sched = make_sched(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return lrs


@pytest.mark.parametrize("ours,ref", [
    (lambda t: schedules.step_decay(t, 0.5, every=7, gamma=0.3),
     lambda o: torch.optim.lr_scheduler.StepLR(o, 7, 0.3)),
    (lambda t: schedules.exponential(t, 0.5, gamma=0.9),
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, 0.9)),
    (lambda t: schedules.cosine(t, 0.5, total=20, floor=0.01),
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 20, eta_min=0.01)),
    (lambda t: schedules.linear_warmup(t, 0.5, warmup=10, start_factor=0.1),
     lambda o: torch.optim.lr_scheduler.LinearLR(o, 0.1, 1.0, total_iters=10)),
])
def test_schedules_match_torch(ours, ref):
    steps = 20  # CosineAnnealingLR is periodic past T_max; ours holds the floor
    expected = _torch_lrs(ref, steps)
    torch.testing.assert_close(torch.tensor([ours(t) for t in range(steps)]),
                               torch.tensor(expected), rtol=1e-9, atol=1e-12)


def test_scheduler_drives_optimizer_lr():
    opt = SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = schedules.Scheduler(opt, schedules.warmup_cosine, warmup=4, total=12)
    lrs = [opt.lr] + [sched.step() for _ in range(12)]
    assert lrs == [schedules.warmup_cosine(t, 1.0, 4, 12) for t in range(13)]
    assert lrs[4] == 1.0 and lrs[-1] == pytest.approx(0.0, abs=1e-15)
