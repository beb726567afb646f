"""Neural networks by hand: a scalar autograd engine, optimisers, layers, the Trainer.

``engine``/``mlp`` (micrograd-style), ``functional`` (activations, losses), ``optim`` and
``schedules`` (checked step for step against ``torch.optim``), ``layers`` (dropout, batch
norm), ``models``, ``data`` (Dataset, DataLoader, augmentation), ``trainer`` with
``early_stopping``, ``checkpoint``, ``tracking`` (TensorBoard, curves), ``config`` (YAML +
overrides) and ``export`` (``.pt``, ONNX).
"""
