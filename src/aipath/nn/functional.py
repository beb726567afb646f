"""Activations and losses on NumPy arrays, each with the derivative backprop needs.

``softmax`` subtracts the row max first: exp of large logits would overflow, and the shift
cancels in the ratio. Cross-entropy on logits then uses log-sum-exp for the same reason.

>>> float(relu(np.array(-2.0))), float(relu_grad(np.array(3.0)))
(0.0, 1.0)
"""

from __future__ import annotations

import numpy as np


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0)


def relu_grad(x: np.ndarray) -> np.ndarray:
    return (x > 0).astype(float)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # same function, no overflow for large |x|


def sigmoid_grad(x: np.ndarray) -> np.ndarray:
    s = sigmoid(x)
    return s * (1 - s)


def tanh(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def tanh_grad(x: np.ndarray) -> np.ndarray:
    return 1 - np.tanh(x) ** 2


def gelu(x: np.ndarray) -> np.ndarray:
    """x * Phi(x), with the normal CDF from the error function."""
    from scipy.special import erf
    return 0.5 * x * (1 + erf(x / np.sqrt(2)))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def log_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def cross_entropy(logits: np.ndarray, target: np.ndarray) -> float:
    """Mean of -log softmax(logits)[target]; its gradient is (softmax - onehot) / n."""
    return float(-log_softmax(logits)[np.arange(len(target)), target].mean())


def cross_entropy_grad(logits: np.ndarray, target: np.ndarray) -> np.ndarray:
    g = softmax(logits)
    g[np.arange(len(target)), target] -= 1
    return g / len(target)


def mse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((pred - target) ** 2))


def binary_cross_entropy_with_logits(logits: np.ndarray, target: np.ndarray) -> float:
    """Mean of max(z,0) - z*y + log(1 + e^-|z|): BCE on sigmoid(z), stable for any z."""
    z = logits
    return float(np.mean(np.maximum(z, 0) - z * target + np.log1p(np.exp(-np.abs(z)))))


def huber(pred: np.ndarray, target: np.ndarray, delta: float = 1.0) -> float:
    """Squared near zero, linear in the tails: robust to outliers."""
    r = np.abs(pred - target)
    return float(np.mean(np.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta))))
