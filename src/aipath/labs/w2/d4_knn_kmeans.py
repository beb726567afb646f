"""w2d4 — k-NN and k-means: a lazy classifier and a simple clustering, vs scikit-learn.

k-NN on breast cancer: accuracy as k grows (k=1 memorises noise, large k blurs).
k-means on iris (4 measurements of 150 flowers): our Lloyd iterations from a k-means++
start end on scikit-learn's centres from the same start, and the clusters are scored
against the true species with the adjusted Rand index (1 = identical, 0 = chance).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aipath.labs.artefacts import figure, label, write_report
from aipath.labs.datasets import breast_cancer
from aipath.labs.result import Check, CheckResult, RunResult, close
from aipath.ml.kmeans import kmeans, kmeans_plus_plus, kmeans_restarts
from aipath.ml.knn import KNN
from aipath.ml.metrics import accuracy
from aipath.ml.pca import PCA

LAB = "w2d4"


def _iris() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_iris

    return load_iris(return_X_y=True)


def run(out_dir: Path, quick: bool = False) -> RunResult:
    from sklearn.metrics import adjusted_rand_score

    d = breast_cancer()
    ks = [1, 3, 5, 9, 15, 25] if quick else [1, 3, 5, 7, 9, 15, 25, 41, 61]
    accs = [accuracy(d.y_test, KNN(k).fit(d.x_train, d.y_train).predict(d.x_test)) for k in ks]
    knn_png = out_dir / "knn_accuracy.png"
    with figure(knn_png, "k-NN on breast cancer: test accuracy vs k") as ax:
        ax.plot(ks, accs, "o-", label="test accuracy")
        label(ax, "small k: noisy; large k: over-smoothed", "k", "accuracy")
    x, species = _iris()
    fits = {k: kmeans_restarts(x, k, n_init=10) for k in range(1, 9)}
    km = fits[3]
    ari = adjusted_rand_score(species, km.labels)
    elbow = out_dir / "kmeans_elbow.png"
    with figure(elbow, "k-means on iris: inertia vs k (elbow)") as ax:
        ax.plot(list(fits), [f.inertia for f in fits.values()], "o-", label="inertia")
        ax.axvline(3, color="r", ls="--", label="k = 3 (three species)")
        label(ax, "sum of squared distances to the centre", "k", "inertia")
    z = PCA(2).fit(x)
    scatter = out_dir / "kmeans_clusters.png"
    with figure(scatter, f"k-means (k=3) on iris, ARI vs species = {ari:.3f}", ncols=2) as axes:
        for ax, labels, title in ((axes[0], km.labels, "k-means clusters"),
                                  (axes[1], species, "true species")):
            for c in range(3):
                pts = z.transform(x[labels == c])
                ax.scatter(*pts.T, s=12, label=f"{'cluster' if ax is axes[0] else 'species'} {c}")
            label(ax, title, "PC 1", "PC 2")
        axes[0].scatter(*z.transform(km.centres).T, marker="X", s=150, c="k", label="centres")
    report = write_report(
        out_dir / "report.md", "w2d4 · k-NN and k-means",
        "k-NN：不训练，预测时找最近的 k 个邻居投票；优点简单、非线性，缺点预测慢、怕维度灾难与尺度不一。"
        "k-means：交替“分配到最近中心 / 中心移到均值”，惯性单调下降；需预先给 k，偏好球形等大簇。",
        f"- best k-NN test accuracy {max(accs):.3f} at k={ks[int(np.argmax(accs))]}\n"
        f"- k-means k=3 (best of 10 k-means++ starts): {km.iterations} iterations, "
        f"inertia {km.inertia:.2f}, "
        f"ARI vs species {ari:.3f}")
    return RunResult(LAB, f"k-NN best {max(accs):.3f}; k-means ARI {ari:.3f} on iris.",
                     (knn_png, elbow, scatter, report))


def check(quick: bool = False) -> CheckResult:
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.neighbors import KNeighborsClassifier

    d = breast_cancer()
    checks = []
    for k in (1, 5, 15):
        ours = KNN(k).fit(d.x_train, d.y_train).predict(d.x_test)
        ref = KNeighborsClassifier(k, algorithm="brute").fit(d.x_train, d.y_train)
        checks.append(Check(f"k-NN k={k}: share of predictions equal to sklearn",
                            float(np.mean(ours == ref.predict(d.x_test))), 1.0, at_least=True))
    x, _ = _iris()
    init = kmeans_plus_plus(x, 3, np.random.default_rng(0))
    ours = kmeans(x, 3, init=init)
    ref = KMeans(3, init=init, n_init=1, algorithm="lloyd", tol=0.0).fit(x)
    checks.append(close("k-means centres vs sklearn (same start)", ours.centres,
                        ref.cluster_centers_, 1e-10))
    checks.append(close("k-means inertia vs sklearn", ours.inertia, ref.inertia_, 1e-8))
    checks.append(Check("ARI between our and sklearn's labels",
                        adjusted_rand_score(ours.labels, ref.labels_), 1.0, at_least=True))
    best = kmeans_restarts(x, 3, n_init=10)
    sk_best = KMeans(3, n_init=10, random_state=0).fit(x)
    checks.append(Check("best-of-10 inertia / sklearn's best-of-10", best.inertia / sk_best.inertia_,
                        1.0 + 1e-9))
    return CheckResult(LAB, tuple(checks))
