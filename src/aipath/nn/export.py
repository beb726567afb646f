"""Export a trained model as TorchScript-free ``.pt`` weights and as ONNX, and check parity.

Two inference rules matter: ``model.eval()`` (dropout off, batch norm uses its running
statistics, not the batch's) and ``torch.no_grad()`` (no graph is recorded, so less
memory and time). Forgetting ``eval()`` silently changes the outputs; forgetting
``no_grad()`` only wastes memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn


def save_weights(model: nn.Module, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return path


def load_weights(model: nn.Module, path: Path) -> nn.Module:
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def export_onnx(model: nn.Module, example: torch.Tensor, path: Path) -> Path:
    """Trace ``model`` in eval mode; the batch dimension stays dynamic.

    Uses the TorchScript-based exporter (``dynamo=False``): the newer torch.export-based
    one needs ``onnxscript``, which this project does not depend on.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.onnx.export(model, (example,), str(path), input_names=["input"],
                      output_names=["logits"], dynamic_axes={"input": {0: "batch"},
                                                             "logits": {0: "batch"}},
                      dynamo=False)
    return path


def onnx_predict(path: Path, x: np.ndarray) -> np.ndarray:
    import onnxruntime as ort
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x.astype(np.float32)})[0]


@torch.no_grad()
def torch_predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    model.eval()
    return model(torch.from_numpy(x.astype(np.float32))).numpy()
