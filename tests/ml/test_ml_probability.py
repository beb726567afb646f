"""Probability helpers, distributions, MLE and t-tests against scipy.stats."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose
from scipy import optimize, stats

from aipath.ml import distributions as D
from aipath.ml import inference, mle
from aipath.ml.probability import (bayes_posterior, binomial_pmf, birthday_collision,
                                   expectation, monte_carlo, variance)


def test_discrete_moments_match_scipy():
    values, probs = np.arange(6), np.array([0.1, 0.2, 0.3, 0.2, 0.1, 0.1])
    rv = stats.rv_discrete(values=(values, probs))
    assert_allclose(expectation(values, probs), rv.mean(), rtol=1e-12)
    assert_allclose(variance(values, probs), rv.var(), rtol=1e-12)


def test_binomial_pmf_matches_scipy():
    for k in range(-1, 12):
        assert_allclose(binomial_pmf(k, 10, 0.3), stats.binom.pmf(k, 10, 0.3), atol=1e-15)


def test_bayes_and_birthday_against_simulation():
    def diseased_given_positive(rng, n):
        sick = rng.random(4 * n) < 0.01
        positive = np.where(sick, rng.random(4 * n) < 0.99, rng.random(4 * n) < 0.05)
        return sick[positive]
    est = monte_carlo(diseased_given_positive, 20_000, seed=1)
    assert est.z_score(bayes_posterior(0.01, 0.99, 0.95)) < 4
    est = monte_carlo(lambda rng, n: np.array(
        [len(set(rng.integers(0, 365, 23))) < 23 for _ in range(n)]), 4000)
    assert est.z_score(birthday_collision(23)) < 4


@pytest.mark.parametrize("family,ours,ref", [
    ("normal", lambda x: D.normal_pdf(x, 1.5, 0.7), lambda x: stats.norm.pdf(x, 1.5, 0.7)),
    ("normal_cdf", lambda x: D.normal_cdf(x, -1, 2), lambda x: stats.norm.cdf(x, -1, 2)),
    ("exponential", lambda x: D.exponential_pdf(x, 2.5), lambda x: stats.expon.pdf(x, scale=0.4)),
    ("exp_cdf", lambda x: D.exponential_cdf(x, 2.5), lambda x: stats.expon.cdf(x, scale=0.4)),
])
def test_densities_match_scipy(family, ours, ref):
    x = np.linspace(-3, 5, 41)
    assert_allclose(ours(x), ref(x), atol=1e-14)


def test_pmfs_match_scipy():
    k = np.arange(-1, 30)
    assert_allclose(D.poisson_pmf(k, 4.2), stats.poisson.pmf(k, 4.2), rtol=1e-12, atol=1e-300)
    assert_allclose(D.bernoulli_pmf(k, 0.3), stats.bernoulli.pmf(k, 0.3), atol=1e-15)


@pytest.mark.parametrize("name,sampler,params,ref", [
    ("normal", D.sample_normal, (1.0, 2.0), stats.norm(1.0, 2.0)),
    ("exponential", D.sample_exponential, (3.0,), stats.expon(scale=1 / 3.0)),
])
def test_continuous_samplers_pass_ks_test(name, sampler, params, ref):
    x = sampler(np.random.default_rng(3), 5000, *params)
    assert stats.kstest(x, ref.cdf).pvalue > 1e-3
    mean, var = D.MOMENTS[name](*params)
    assert abs(x.mean() - mean) < 5 * math.sqrt(var / len(x))


@pytest.mark.parametrize("name,sampler,param", [
    ("poisson", D.sample_poisson, 3.5), ("bernoulli", D.sample_bernoulli, 0.3)])
def test_discrete_samplers_pass_chi_square(name, sampler, param):
    x = sampler(np.random.default_rng(4), 5000, param)
    ref = stats.poisson(param) if name == "poisson" else stats.bernoulli(param)
    top = int(x.max())
    observed = np.bincount(x, minlength=top + 1).astype(float)
    expected = ref.pmf(np.arange(top + 1)) * len(x)
    expected[-1] += ref.sf(top) * len(x)
    keep = expected > 5
    obs = np.r_[observed[keep], observed[~keep].sum()]
    exp = np.r_[expected[keep], expected[~keep].sum()]
    obs, exp = obs[exp > 0], exp[exp > 0]
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_mle_closed_forms_match_numerical_optimum():
    rng = np.random.default_rng(5)
    x = rng.normal(2.0, 1.5, 300)
    mu, sigma = mle.mle_normal(x)
    res = optimize.minimize(lambda p: -mle.log_likelihood("normal", (p[0], abs(p[1])), x),
                            [0.0, 1.0], method="Nelder-Mead", options={"xatol": 1e-10,
                                                                       "fatol": 1e-12})
    assert_allclose([mu, sigma], [res.x[0], abs(res.x[1])], rtol=1e-6)
    for family, est, data, bounds in [
        ("poisson", mle.mle_poisson, rng.poisson(3.0, 300), (0.01, 20)),
        ("exponential", mle.mle_exponential, rng.exponential(0.5, 300), (0.01, 20)),
        ("bernoulli", mle.mle_bernoulli, rng.integers(0, 2, 300), (0.001, 0.999)),
    ]:
        res = optimize.minimize_scalar(lambda t: -mle.log_likelihood(family, (t,), data),
                                       bounds=bounds, method="bounded",
                                       options={"xatol": 1e-10})
        assert_allclose(est(data), res.x, rtol=1e-6)


def test_log_likelihood_matches_scipy_logpdf():
    x = np.array([0.5, 1.0, 3.0])
    assert_allclose(mle.log_likelihood("normal", (1, 2), x), stats.norm.logpdf(x, 1, 2).sum())
    assert_allclose(mle.log_likelihood("poisson", (2.0,), [0, 1, 4]),
                    stats.poisson.logpmf([0, 1, 4], 2.0).sum())
    assert_allclose(mle.log_likelihood("exponential", (2.0,), x),
                    stats.expon.logpdf(x, scale=0.5).sum())
    assert_allclose(mle.log_likelihood("bernoulli", (0.3,), [1, 0, 0]),
                    stats.bernoulli.logpmf([1, 0, 0], 0.3).sum())


def test_t_distribution_matches_scipy():
    for df in (1, 3.5, 30):
        for t in (-4.0, -0.3, 0.0, 1.2, 6.0):
            assert_allclose(inference.t_cdf(t, df), stats.t.cdf(t, df), rtol=1e-10)
        assert_allclose(inference.t_quantile(0.975, df), stats.t.ppf(0.975, df), rtol=1e-9)


def test_confidence_interval_and_ttests_match_scipy():
    rng = np.random.default_rng(6)
    a, b = rng.normal(0.3, 1, 25), rng.normal(0.0, 2, 40)
    lo, hi = inference.mean_confidence_interval(a, 0.9)
    ref = stats.t.interval(0.9, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert_allclose([lo, hi], ref, rtol=1e-9)
    one = inference.ttest_1samp(a, 0.1)
    ref1 = stats.ttest_1samp(a, 0.1)
    assert_allclose([one.statistic, one.pvalue], [ref1.statistic, ref1.pvalue], rtol=1e-9)
    for equal_var in (True, False):
        ours = inference.ttest_ind(a, b, equal_var=equal_var)
        ref2 = stats.ttest_ind(a, b, equal_var=equal_var)
        assert_allclose([ours.statistic, ours.pvalue], [ref2.statistic, ref2.pvalue],
                        rtol=1e-9)
