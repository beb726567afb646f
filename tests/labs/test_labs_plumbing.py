"""Shared lab plumbing: data splits, Markdown tables, figures."""

from numpy.testing import assert_allclose
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from aipath.labs.artefacts import figure, label, table, write_report
from aipath.labs.datasets import breast_cancer, digits_images, mnist_sample


def test_split_standardises_with_training_statistics():
    ours = breast_cancer(seed=0)
    x, y = load_breast_cancer(return_X_y=True)
    xa, xb, ya, yb = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(xa)
    assert_allclose(ours.x_train, scaler.transform(xa), atol=1e-12)
    assert_allclose(ours.x_test, scaler.transform(xb), atol=1e-12)
    assert (ours.y_train == ya).all() and (ours.y_test == yb).all()


def test_image_sets_are_scaled_to_unit_range():
    x, y = digits_images(50)
    assert x.shape == (50, 1, 8, 8) and x.max() == 1.0 and x.min() == 0.0
    assert len(set(y.tolist())) > 5
    m, t = mnist_sample(100)
    assert m.shape == (100, 1, 28, 28) and 0 <= m.min() and m.max() <= 1.0
    assert len(set(t.tolist())) > 5  # shuffled, not the first digit only


def test_table_and_report(tmp_path):
    md = table(["a", "b"], [[1, 0.123456], ["x", 2.0]])
    assert md.splitlines() == ["| a | b |", "|---|---|", "| 1 | 0.1235 |", "| x | 2 |"]
    path = write_report(tmp_path / "r.md", "T", "one", "two")
    assert path.read_text() == "# T\n\none\n\ntwo\n"


def test_figure_writes_a_png_with_title_and_legend(tmp_path):
    path = tmp_path / "f.png"
    with figure(path, "Title") as ax:
        ax.plot([0, 1], [1, 2], label="line")
        label(ax, "t", "x", "y")
        assert ax.get_xlabel() == "x" and ax.get_title() == "t"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
