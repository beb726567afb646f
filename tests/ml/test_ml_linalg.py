"""Matrix multiply, power-iteration eigen/SVD and Householder QR against numpy.linalg."""

import numpy as np
import pytest
from numpy.testing import assert_allclose

from aipath.ml.eigen import eigh_power, low_rank, svd_power
from aipath.ml.matmul import matmul_blocked, matmul_naive, matmul_rowwise
from aipath.ml.qr import back_substitute, householder_qr

rng = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(1, 1, 1), (3, 4, 5), (17, 9, 13), (0, 3, 2)])
def test_matmuls_match_numpy(shape):
    n, m, p = shape
    a, b = rng.standard_normal((n, m)), rng.standard_normal((m, p))
    for f in (matmul_naive, matmul_rowwise, lambda x, y: matmul_blocked(x, y, block=4)):
        assert_allclose(f(a, b), a @ b, atol=1e-12)


def test_blocked_matmul_large_blocks_and_ragged_edges():
    a, b = rng.standard_normal((70, 33)), rng.standard_normal((33, 65))
    assert_allclose(matmul_blocked(a, b, block=16), a @ b, atol=1e-12)


def test_matmul_rejects_bad_shapes():
    with pytest.raises(ValueError):
        matmul_naive(np.ones((2, 3)), np.ones((2, 3)))


def test_eigh_power_matches_numpy():
    m = rng.standard_normal((6, 6))
    s = m @ m.T + np.diag(np.arange(6.0))  # PSD with spread-out eigenvalues
    vals, vecs = eigh_power(s)
    ref_vals, ref_vecs = np.linalg.eigh(s)
    assert_allclose(vals, ref_vals[::-1], rtol=1e-9)
    for i in range(6):  # eigenvectors agree up to sign
        assert_allclose(abs(vecs[:, i] @ ref_vecs[:, 5 - i]), 1.0, atol=1e-6)


def test_eigh_power_rejects_non_symmetric():
    with pytest.raises(ValueError):
        eigh_power(np.array([[1.0, 2.0], [0.0, 1.0]]))


@pytest.mark.parametrize("shape", [(12, 5), (5, 12)])
def test_svd_power_matches_numpy(shape):
    a = rng.standard_normal(shape)
    u, s, vt = svd_power(a)
    assert_allclose(s, np.linalg.svd(a, compute_uv=False), rtol=1e-8)
    assert_allclose((u * s) @ vt, a, atol=1e-6)


def test_low_rank_error_is_eckart_young():
    a = rng.standard_normal((20, 10))
    u, s, vt = svd_power(a)
    ref_s = np.linalg.svd(a, compute_uv=False)
    for r in (1, 3, 7):
        err = np.linalg.norm(a - low_rank(u, s, vt, r))
        assert_allclose(err, np.sqrt((ref_s[r:] ** 2).sum()), rtol=1e-6)


def test_householder_qr_matches_numpy():
    a = rng.standard_normal((9, 4))
    q, r = householder_qr(a)
    q_ref, r_ref = np.linalg.qr(a)
    signs = np.sign(np.diag(r)) * np.sign(np.diag(r_ref))
    assert_allclose(q * signs, q_ref, atol=1e-12)
    assert_allclose(r * signs[:, None], r_ref, atol=1e-12)
    assert_allclose(q.T @ q, np.eye(4), atol=1e-12)


def test_back_substitute_matches_solve():
    r = np.triu(rng.standard_normal((5, 5))) + 5 * np.eye(5)
    b = rng.standard_normal(5)
    assert_allclose(back_substitute(r, b), np.linalg.solve(r, b), atol=1e-12)
