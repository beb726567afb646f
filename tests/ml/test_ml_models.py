"""Classical models against scikit-learn: regression, logistic, trees, forest, SVM, k-NN,
k-means, PCA."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.cluster import KMeans
from sklearn.datasets import (load_breast_cancer, load_diabetes, load_iris, make_blobs,
                              make_classification)
from sklearn.decomposition import PCA as SkPCA
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier

from aipath.ml.forest import ForestConfig, RandomForest
from aipath.ml.kmeans import kmeans, kmeans_plus_plus, kmeans_restarts
from aipath.ml.knn import KNN
from aipath.ml.linear_regression import fit_ols, r2_score
from aipath.ml.logistic import LogisticConfig, LogisticRegressionGD, sigmoid
from aipath.ml.pca import PCA
from aipath.ml.pruning import prune, pruning_path
from aipath.ml.svm import LinearSVM, SVMConfig, hinge_objective
from aipath.ml.tree import DecisionTree, TreeConfig


def _float32(x):
    """scikit-learn trees work in float32; give both sides the same numbers."""
    return np.asarray(x, np.float32).astype(float)


@pytest.mark.parametrize("method", ["normal", "qr"])
def test_ols_matches_sklearn_on_diabetes(method):
    x, y = load_diabetes(return_X_y=True)
    ours = fit_ols(x, y, method=method)
    ref = LinearRegression().fit(x, y)
    assert_allclose(ours.coef, ref.coef_, rtol=1e-8)
    assert_allclose(ours.intercept, ref.intercept_, rtol=1e-10)
    assert_allclose(r2_score(y, ours.predict(x)), ref.score(x, y), rtol=1e-10)


def test_sigmoid_is_stable_and_matches_scipy():
    from scipy.special import expit
    z = np.array([-800.0, -5.0, 0.0, 3.0, 800.0])
    assert_allclose(sigmoid(z), expit(z), rtol=1e-15)


def test_logistic_gd_matches_sklearn_l2():
    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x[:, :6])
    lam = 0.01
    ours = LogisticRegressionGD(LogisticConfig(lr=1.0, epochs=20000, l2=lam, tol=1e-14)).fit(x, y)
    ref = LogisticRegression(C=1 / (lam * len(y)), tol=1e-10, max_iter=10000).fit(x, y)
    assert_allclose(ours.coef, ref.coef_[0], atol=1e-4)
    assert_allclose(ours.intercept, ref.intercept_[0], atol=1e-4)
    assert all(b <= a + 1e-12 for a, b in zip(ours.losses, ours.losses[1:]))


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
@pytest.mark.parametrize("max_depth,min_leaf", [(None, 1), (3, 1), (None, 5)])
def test_tree_matches_sklearn(criterion, max_depth, min_leaf):
    x, y = load_iris(return_X_y=True) if min_leaf == 5 else load_breast_cancer(return_X_y=True)
    x = _float32(x + np.random.default_rng(0).normal(0, 1e-3, x.shape))  # break value ties
    cfg = TreeConfig(criterion=criterion, max_depth=max_depth, min_samples_leaf=min_leaf)
    ours = DecisionTree(cfg).fit(x, y)
    ref = DecisionTreeClassifier(criterion=criterion, max_depth=max_depth,
                                 min_samples_leaf=min_leaf, random_state=0).fit(x, y)
    assert (ours.n_leaves(), ours.depth()) == (ref.get_n_leaves(), ref.get_depth())
    # Same partition of the training data, node for node (a split on another feature that
    # cuts the data the same way is an equally good tie, so compare partitions, not features).
    ours_nodes, ref_nodes = _node_signature(ours, ref)
    assert ours_nodes == ref_nodes
    assert_allclose(ours.predict_proba(x), ref.predict_proba(x), atol=1e-12)


@pytest.mark.parametrize("criterion", ["gini", "entropy"])
def test_pruning_path_and_pruned_tree_match_sklearn(criterion):
    x, y = load_breast_cancer(return_X_y=True)
    x = _float32(x + np.random.default_rng(0).normal(0, 1e-3, x.shape))
    tree = DecisionTree(TreeConfig(criterion=criterion)).fit(x, y)
    ref = DecisionTreeClassifier(criterion=criterion, random_state=0)
    path = ref.cost_complexity_pruning_path(x, y)
    alphas, impurities = pruning_path(tree)
    assert_allclose(alphas, path.ccp_alphas, atol=1e-12)
    assert_allclose(impurities, path.impurities, atol=1e-12)
    distinct = np.unique(alphas)
    for lo, hi in zip(distinct[:-1], distinct[1:]):  # between two path alphas: no ambiguity
        alpha = (lo + hi) / 2
        pruned = prune(tree, alpha)
        sk = DecisionTreeClassifier(criterion=criterion, ccp_alpha=alpha, random_state=0).fit(x, y)
        # Leaves of equal size and class mix (splits tied in gain may isolate other samples).
        ours_leaves = sorted(tuple(pruned.nodes[i].counts) for i in pruned.reachable()
                             if pruned.nodes[i].is_leaf)
        t = sk.tree_
        sk_leaves = sorted(tuple(np.round(t.value[i][0] * t.n_node_samples[i]))
                           for i in range(t.node_count) if t.children_left[i] == -1)
        assert ours_leaves == sk_leaves


def _node_signature(ours: DecisionTree, ref: DecisionTreeClassifier) -> tuple[list, list]:
    t = ref.tree_
    return (sorted((n.n, round(n.impurity, 12)) for n in ours.nodes),
            sorted((int(c), round(float(i), 12)) for c, i in zip(t.n_node_samples, t.impurity)))


def test_forest_trees_equal_sklearn_trees_on_their_bootstrap_samples():
    x, y = make_classification(300, n_features=6, n_informative=4, n_classes=3,
                               random_state=0)
    x = _float32(x)
    forest = RandomForest(ForestConfig(n_trees=5, tree=TreeConfig(max_depth=4), seed=3))
    forest.fit(x, y)
    for tree, rows in zip(forest.trees, forest.samples):
        sk = DecisionTreeClassifier(max_depth=4, random_state=0).fit(x[rows], y[rows])
        ours_nodes, sk_nodes = _node_signature(tree, sk)
        assert ours_nodes == sk_nodes
        full = np.zeros((len(rows), 3))
        full[:, sk.classes_] = sk.predict_proba(x[rows])
        assert_allclose(tree.predict_proba(x[rows]), full, atol=1e-12)
    mean = np.mean([t.predict_proba(x) for t in forest.trees], axis=0)
    assert_allclose(forest.predict_proba(x), mean, atol=1e-15)


def test_forest_feature_subsampling_changes_trees():
    x, y = load_breast_cancer(return_X_y=True)
    cfg = ForestConfig(n_trees=4, tree=TreeConfig(max_features=5), bootstrap=False)
    roots = {t.nodes[0].feature for t in RandomForest(cfg).fit(x, y).trees}
    full = DecisionTree().fit(x, y).nodes[0].feature
    assert len(roots) > 1 or roots != {full}


def test_linear_svm_matches_liblinear():
    x, y = load_breast_cancer(return_X_y=True)
    x = StandardScaler().fit_transform(x[:, :5])
    ours = LinearSVM(SVMConfig(c=0.5, tol=1e-10, epochs=5000)).fit(x, y)
    ref = LinearSVC(C=0.5, loss="hinge", dual=True, tol=1e-10, max_iter=200000,
                    intercept_scaling=1.0).fit(x, y)
    assert_allclose(ours.coef, ref.coef_[0], atol=1e-4)
    assert_allclose(ours.intercept, ref.intercept_[0], atol=1e-4)
    sign = np.where(y > 0, 1.0, -1.0)
    ref_obj = hinge_objective(ref.coef_[0], ref.intercept_[0], x, sign, 0.5)
    assert hinge_objective(ours.coef, ours.intercept, x, sign, 0.5) <= ref_obj + 1e-6
    assert (ours.predict(x) == ref.predict(x)).mean() >= 0.995


@pytest.mark.parametrize("k", [1, 5, 10])
def test_knn_matches_sklearn(k):
    x, y = load_iris(return_X_y=True)
    x = x + np.random.default_rng(2).normal(0, 1e-3, x.shape)
    query = np.random.default_rng(3).uniform(x.min(0), x.max(0), (300, 4))
    ref = KNeighborsClassifier(n_neighbors=k, algorithm="brute").fit(x, y)
    ours = KNN(k).fit(x, y)
    assert_allclose(ours.neighbors(query), ref.kneighbors(query, return_distance=False))
    assert (ours.predict(query) == ref.predict(query)).all()


def test_kmeans_matches_sklearn_from_same_start():
    x, _ = make_blobs(400, centers=4, cluster_std=1.5, random_state=0)
    ours = kmeans(x, 4, seed=1)
    init = kmeans_plus_plus(x, 4, np.random.default_rng(1))
    ref = KMeans(4, init=init, n_init=1, algorithm="lloyd", tol=0.0, max_iter=300).fit(x)
    assert_allclose(ours.centres, ref.cluster_centers_, atol=1e-10)
    assert (ours.labels == ref.labels_).all()
    assert_allclose(ours.inertia, ref.inertia_, rtol=1e-10)
    assert all(b <= a + 1e-9 for a, b in zip(ours.history, ours.history[1:]))


def test_kmeans_restarts_reach_sklearns_best_inertia():
    x, _ = load_iris(return_X_y=True)
    best = kmeans_restarts(x, 3, n_init=10)
    assert all(best.inertia <= kmeans(x, 3, seed=s).inertia for s in range(10))
    ref = KMeans(3, n_init=10, random_state=0).fit(x)
    assert_allclose(best.inertia, ref.inertia_, rtol=1e-9)


def test_pca_matches_sklearn():
    x, _ = load_iris(return_X_y=True)
    ours = PCA(3).fit(x)
    ref = SkPCA(3).fit(x)
    signs = np.sign((ours.components * ref.components_).sum(axis=1))
    assert_allclose(ours.components, ref.components_ * signs[:, None], atol=1e-10)
    assert_allclose(ours.explained_variance, ref.explained_variance_, rtol=1e-10)
    assert_allclose(ours.explained_variance_ratio, ref.explained_variance_ratio_, rtol=1e-10)
    assert_allclose(ours.transform(x), ref.transform(x) * signs, atol=1e-10)
    full = PCA(4).fit(x)
    assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-10)


def test_export_text_matches_sklearn_format():
    from sklearn.tree import export_text
    x, y = make_classification(200, n_features=5, n_informative=3, random_state=1)
    x = _float32(x)
    ours = DecisionTree(TreeConfig(max_depth=3)).fit(x, y)
    ref = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    assert ours.export_text() == export_text(ref)
    names = [f"f{i}" for i in range(5)]
    assert ours.export_text(names) == export_text(ref, feature_names=names)
