"""Classification metrics against sklearn.metrics."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn import metrics as skm

from aipath.ml import metrics

rng = np.random.default_rng(0)


def test_confusion_matrix_and_accuracy():
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert (metrics.confusion_matrix(y, p) == skm.confusion_matrix(y, p)).all()
    assert metrics.accuracy(y, p) == skm.accuracy_score(y, p)


@pytest.mark.parametrize("average,k", [("binary", 2), ("macro", 2), ("macro", 5)])
def test_precision_recall_f1(average, k):
    y, p = rng.integers(0, k, 300), rng.integers(0, k, 300)
    ours = metrics.precision_recall_f1(y, p, average)
    ref = skm.precision_recall_fscore_support(y, p, average=average, zero_division=0)[:3]
    assert_allclose(ours, ref, rtol=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_roc_and_auc(ties):
    y = rng.integers(0, 2, 300)
    s = y * 0.7 + rng.normal(0, 0.5, 300)
    if ties:
        s = np.round(s, 1)
    fpr, tpr, thr = metrics.roc_curve(y, s)
    rf, rt, rth = skm.roc_curve(y, s, drop_intermediate=False)
    assert_allclose(fpr, rf, atol=1e-15)
    assert_allclose(tpr, rt, atol=1e-15)
    assert_allclose(thr[1:], rth[1:])
    assert_allclose(metrics.roc_auc(y, s), skm.roc_auc_score(y, s), rtol=1e-12)
    assert_allclose(metrics.auc(fpr, tpr), skm.auc(rf, rt), rtol=1e-12)
