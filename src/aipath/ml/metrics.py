"""Classification metrics: confusion matrix, precision/recall/F1, ROC and AUC.

For a positive class: precision = TP / (TP + FP) ("of what I flagged, how much was right"),
recall = TP / (TP + FN) ("of what was there, how much did I find"), F1 their harmonic mean.
The ROC curve sweeps the decision threshold over every distinct score, from strict to
lax; AUC is the area under it (trapezoids) = P(score of a random positive > a negative).

>>> confusion_matrix([0, 1, 1], [0, 1, 0]).tolist()
[[1, 0], [1, 1]]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def confusion_matrix(y_true: ArrayLike, y_pred: ArrayLike, n_classes: int | None = None
                     ) -> np.ndarray:
    """``m[i, j]`` counts samples of true class ``i`` predicted as ``j``."""
    y_true, y_pred = np.asarray(y_true, int), np.asarray(y_pred, int)
    k = n_classes or int(max(y_true.max(), y_pred.max())) + 1
    m = np.zeros((k, k), dtype=int)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def _safe_div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.divide(a, b, out=np.zeros_like(a, dtype=float), where=b != 0)


def precision_recall_f1(y_true: ArrayLike, y_pred: ArrayLike, average: str = "binary"
                        ) -> tuple[float, float, float]:
    """``binary`` scores class 1; ``macro`` averages the per-class scores."""
    m = confusion_matrix(y_true, y_pred).astype(float)
    tp = np.diag(m)
    precision = _safe_div(tp, m.sum(axis=0))
    recall = _safe_div(tp, m.sum(axis=1))
    f1 = _safe_div(2 * precision * recall, precision + recall)
    if average == "binary":
        assert len(m) <= 2, "binary average needs two classes"
        return float(precision[1]), float(recall[1]), float(f1[1])
    if average == "macro":
        return float(precision.mean()), float(recall.mean()), float(f1.mean())
    raise ValueError(f"average must be 'binary' or 'macro', got {average!r}")


def roc_curve(y_true: ArrayLike, scores: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(fpr, tpr, thresholds): one point per distinct score, plus the (0, 0) start at +inf."""
    y_true, scores = np.asarray(y_true, int), np.asarray(scores, float)
    order = np.argsort(-scores, kind="mergesort")
    y_sorted, s_sorted = y_true[order], scores[order]
    last_of_run = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    tps = np.cumsum(y_sorted)[last_of_run]
    fps = (last_of_run + 1) - tps
    tpr = np.r_[0.0, tps / tps[-1]]
    fpr = np.r_[0.0, fps / fps[-1]]
    return fpr, tpr, np.r_[np.inf, s_sorted[last_of_run]]


def auc(x: ArrayLike, y: ArrayLike) -> float:
    """Trapezoidal area under a curve given by increasing ``x``."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2))


def roc_auc(y_true: ArrayLike, scores: ArrayLike) -> float:
    fpr, tpr, _ = roc_curve(y_true, scores)
    return auc(fpr, tpr)


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))
