"""Trainer: resume equals an uninterrupted run; early stopping; logs; config; export."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from aipath.nn.config import TrainConfig, apply_overrides, load_config, save_config
from aipath.nn.data import ArrayDataset
from aipath.nn.early_stopping import EarlyStopping
from aipath.nn.export import export_onnx, load_weights, onnx_predict, save_weights, torch_predict
from aipath.nn.models import MLP, SmallCNN
from aipath.nn.tracking import read_event_scalars
from aipath.nn.trainer import Trainer


def _data(n=300):
    x, y = load_digits(return_X_y=True)
    x = (x / 16.0).astype(np.float32)
    return ArrayDataset(x[:n], y[:n]), ArrayDataset(x[n:n + 100], y[n:n + 100])


def _trainer(out, epochs=4):
    torch.manual_seed(0)
    train, val = _data()
    cfg = TrainConfig(epochs=epochs, batch_size=32, lr=1e-2, optimizer="adam", patience=10,
                      schedule="cosine")
    return Trainer(MLP(64, 32, 10, dropout=0.2), cfg, train, val, val, out_dir=out)


def test_resume_equals_uninterrupted_run(tmp_path):
    full = _trainer(tmp_path / "full")
    full.fit()
    interrupted = _trainer(tmp_path / "resumed")
    interrupted.fit(stop_after=2)
    resumed = _trainer(tmp_path / "resumed")
    torch.manual_seed(123)  # the checkpoint's RNG state must win over this
    resumed.fit(resume=True)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert [h["val_loss"] for h in full.history] == [h["val_loss"] for h in resumed.history]


def test_tensorboard_events_hold_the_logged_history(tmp_path):
    trainer = _trainer(tmp_path, epochs=3)
    history = trainer.fit()
    scalars = read_event_scalars(tmp_path / "tb")
    assert [s for s, _ in scalars["val/loss"]] == [0, 1, 2]
    np.testing.assert_allclose([v for _, v in scalars["val/loss"]],
                               [h["val_loss"] for h in history], rtol=1e-6)
    result = trainer.test()
    best = min(h["val_loss"] for h in history)
    assert result["loss"] == pytest.approx(best, rel=1e-5)  # test set = val set here


def test_early_stopping_stops_after_patience():
    stopper = EarlyStopping(patience=3, min_delta=0.01)
    values = [1.0, 0.9, 0.895, 0.95, 0.9, 0.5]
    stops = [stopper.update(v) for v in values]
    assert stops == [False, False, False, False, True, False]
    assert stopper.best == 0.5 and stopper.best_epoch == 5


def test_config_yaml_and_overrides(tmp_path):
    path = save_config(TrainConfig(lr=0.1, epochs=3), tmp_path / "c.yaml")
    cfg = load_config(path, ["optimizer=sgd", "lr=3e-4", "epochs=7", "momentum=0"])
    assert cfg == TrainConfig(lr=3e-4, epochs=7, optimizer="sgd", momentum=0.0)
    with pytest.raises(ValueError):
        apply_overrides(cfg, ["epochs=two"])
    with pytest.raises(ValueError):
        apply_overrides(cfg, ["nonsense=1"])
    with pytest.raises(AssertionError):
        apply_overrides(cfg, ["optimizer=lbfgs"])


def test_export_pt_and_onnx_parity(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN(8, 1, 10, 4)
    model.eval()
    x = np.random.default_rng(0).random((7, 1, 8, 8)).astype(np.float32)
    path = export_onnx(model, torch.zeros(1, 1, 8, 8), tmp_path / "m.onnx")
    np.testing.assert_allclose(onnx_predict(path, x), torch_predict(model, x), atol=1e-5)
    clone = load_weights(SmallCNN(8, 1, 10, 4), save_weights(model, tmp_path / "m.pt"))
    np.testing.assert_array_equal(torch_predict(clone, x), torch_predict(model, x))
