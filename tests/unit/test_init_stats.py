"""init_stats (autograder/graders/init_stats.py) on synthetic tensors: each threshold is the finite-sample bound
it claims, a correct law passes at the graders' alphas (from torch's own samplers, as students' answers draw
them), every bundled kind of mistake is found and named, and the observed false-failure rate stays under
the stated alpha."""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import pytest
import torch

from autograder.graders import init_stats as st

LAYER_ALPHA = st.RULE_ALPHA / 3  # what test_init's weight rules give one of their three layers
N = 20_000  # weights per synthetic layer: smaller than the graders' (86k+), so a mistake found here is found there


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _normal(std: float, seed: int, n: int = N) -> torch.Tensor:
    return torch.randn(n, generator=_gen(seed)) * std


def _uniform(a: float, seed: int, n: int = N) -> torch.Tensor:
    return torch.empty(n).uniform_(-a, a, generator=_gen(seed))


def _my_init(seed: int, zero: Callable[[torch.Tensor], torch.Tensor] = lambda w: w.abs() < 5,
             n: int = N) -> torch.Tensor:
    """U(-10, 10) with the entries ``zero`` picks set to 0 (the right my_init picks |w| < 5)."""
    w = _uniform(10.0, seed, n)
    w[zero(w)] = 0
    return w


# ------------------------------------------------------------------ the bounds are the ones stated


def test_the_per_submission_budget_is_split_over_the_statistical_rules():
    assert st.STATISTICAL_RULES * st.RULE_ALPHA == pytest.approx(st.SUBMISSION_ALPHA, rel=1e-12)
    assert st.SUBMISSION_ALPHA <= 1e-6


@pytest.mark.parametrize("n,alpha", [(100, 0.05), (10_000, 1e-7), (150_000, st.RULE_ALPHA / 6)])
def test_thresholds_solve_their_inequalities(n, alpha):
    t = st.ks_threshold(n, alpha) - st.SAMPLER_SLACK  # DKW-Massart: 2 exp(-2 n t²) = alpha
    assert 2 * math.exp(-2 * n * t * t) == pytest.approx(alpha, rel=1e-9)
    h = st.hoeffding_halfwidth(n, alpha, value_range=3.0)  # Hoeffding: 2 exp(-2 n h² / range²) = alpha
    assert 2 * math.exp(-2 * n * h * h / 9.0) == pytest.approx(alpha, rel=1e-9)
    lo, hi = st.chi2_interval(n, alpha)  # Laurent-Massart, each side at alpha / 2, widened by RELATIVE_SLACK
    x = math.log(2 / alpha)
    assert lo == pytest.approx((n - 2 * math.sqrt(n * x)) * (1 - st.RELATIVE_SLACK))
    assert hi == pytest.approx((n + 2 * math.sqrt(n * x) + 2 * x) * (1 + st.RELATIVE_SLACK))
    assert lo < n < hi
    m = st.normal_max_bound(n, alpha)  # union bound: n P(|Z| > m) = alpha
    assert n * math.erfc(m / math.sqrt(2)) <= alpha
    assert n * math.erfc(m / math.sqrt(2)) == pytest.approx(alpha, rel=1e-6)


def test_normal_cdf_is_within_its_stated_error():
    z = np.linspace(-8, 8, 4001)
    exact = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in z])
    assert float(np.max(np.abs(st.normal_cdf(z) - exact))) < 1.2e-7 < st.SAMPLER_SLACK


def test_ks_distance_of_a_known_sample():
    # the sample {0.1, 0.6} against U(0, 1): F_n jumps to 1/2 at 0.1 and to 1 at 0.6; sup |F_n - F| = 0.4
    assert st.ks_distance(np.array([0.6, 0.1]), st.uniform_cdf(0.0, 1.0)) == pytest.approx(0.4)


def test_flat_is_a_float64_copy_of_any_tensor():
    for t in (torch.ones(2, 3), torch.ones(2, 3, dtype=torch.float64), torch.ones(2, 3, dtype=torch.bfloat16),
              torch.ones(2, 3, dtype=torch.int64)):
        out = st.flat(t)
        assert out.dtype == np.float64 and out.shape == (6,) and np.all(out == 1)


# ------------------------------------------------------------------ right laws pass, mistakes are named


@pytest.mark.parametrize("seed", range(3))
def test_correct_laws_pass_at_the_graders_alpha(seed):
    fan_in, fan_out = 250, 520
    assert st.normal_law(_normal(0.01, seed), 0.01, LAYER_ALPHA) is None
    assert st.normal_law(_normal(math.sqrt(2 / fan_in), seed), math.sqrt(2 / fan_in), LAYER_ALPHA) is None
    a = math.sqrt(6 / (fan_in + fan_out))
    assert st.uniform_law(_uniform(a, seed), a, LAYER_ALPHA) is None
    assert st.my_init_law(_my_init(seed), LAYER_ALPHA) is None
    assert st.normal_law(_normal(0.01, seed).double(), 0.01, LAYER_ALPHA) is None  # float64 draws too


def test_normal_law_names_the_mistake():
    spread = st.normal_law(_normal(0.1, 1), 0.01, LAYER_ALPHA)  # std 0.1, or 0.01 taken as the variance
    assert spread is not None and spread.check == "spread" and spread.ratio == pytest.approx(10, rel=0.02)
    fan_in, fan_out = 250, 520  # He with fan_out instead of fan_in
    wrong_fan = st.normal_law(_normal(math.sqrt(2 / fan_out), 2), math.sqrt(2 / fan_in), LAYER_ALPHA)
    assert wrong_fan is not None and wrong_fan.check == "spread"
    assert wrong_fan.ratio == pytest.approx(math.sqrt(fan_in / fan_out), rel=0.02)
    flat_top = st.normal_law(_uniform(0.01 * math.sqrt(3), 3), 0.01, LAYER_ALPHA)  # uniform with the right std
    assert flat_top is not None and flat_top.check == "shape" and flat_top.detail == "uniform"
    g = _gen(6)  # Laplace with the right std (heavier tails): the difference of two exponentials
    laplace = 0.01 / math.sqrt(2) * (torch.rand(N, generator=g).log() - torch.rand(N, generator=g).log())
    found = st.normal_law(laplace, 0.01, LAYER_ALPHA)
    assert found is not None and found.check == "shape" and found.detail == ""
    broken = _normal(0.01, 4)
    broken[7] = float("nan")
    nan = st.normal_law(broken, 0.01, LAYER_ALPHA)
    assert nan is not None and nan.detail == "not finite"


def test_uniform_law_names_the_mistake():
    fan_in, fan_out = 250, 520
    a = math.sqrt(6 / (fan_in + fan_out))
    xavier_normal = st.uniform_law(_normal(math.sqrt(2 / (fan_in + fan_out)), 1), a, LAYER_ALPHA)
    assert xavier_normal is not None and xavier_normal.check == "support" and xavier_normal.detail == "normal"
    too_wide = st.uniform_law(_uniform(2 * a, 2), a, LAYER_ALPHA)
    assert too_wide is not None and too_wide.check == "support" and too_wide.detail == ""
    too_narrow = st.uniform_law(_uniform(a / 2, 3), a, LAYER_ALPHA)
    assert too_narrow is not None and too_narrow.check == "spread" and too_narrow.ratio == pytest.approx(0.5, rel=0.02)
    # inside (-a, a) with exactly the second moment of U(-a, a), but not uniform: only ±a/√3
    signs = torch.where(torch.rand(N, generator=_gen(5)) < 0.5, 1.0, -1.0)
    shape = st.uniform_law(signs * a / math.sqrt(3), a, LAYER_ALPHA)
    assert shape is not None and shape.check == "shape"


@pytest.mark.parametrize("zero,check,detail", [
    (lambda w: w.abs() < 4, "support", "small"),  # threshold 4: entries with 4 <= |w| < 5 stay
    (lambda w: w.abs() < 6, "zeros", ""),  # threshold 6: about 60 % zeros
    (lambda w: w < 5, "zeros", "no negatives"),  # compares w, not |w|
    (lambda w: w.abs() >= 5, "support", "small"),  # the comparison reversed
    (lambda w: torch.zeros_like(w, dtype=torch.bool), "support", "small"),  # nothing zeroed
])
def test_my_init_law_names_the_mistake(zero, check, detail):
    found = st.my_init_law(_my_init(1, zero), LAYER_ALPHA)
    assert found is not None and (found.check, found.detail) == (check, detail)


def test_my_init_law_checks_the_largest_values_and_the_nonzero_shape():
    large = st.my_init_law(_my_init(2) * 1.5, LAYER_ALPHA)
    assert large is not None and large.detail == "large"
    # the right zeros and support, but the nonzero entries piled at ±5: only the KS test can tell
    w = _my_init(3)
    piled = torch.where(w == 0, w, torch.sign(w) * (5 + (w.abs() - 5) ** 2 / 5))
    found = st.my_init_law(piled, LAYER_ALPHA)
    assert found is not None and found.check == "shape"


# ------------------------------------------------------------------ the false-failure bound holds


def test_observed_false_failures_stay_under_alpha():
    """At a large alpha, where failures are frequent enough to count, correct samples fail each law check
    less often than alpha says (the bounds are conservative, never optimistic); 400 trials of each."""
    alpha, n, trials = 0.2, 400, 400
    rng = np.random.default_rng(12)
    failures = {"normal": 0, "uniform": 0, "my_init": 0}
    for _ in range(trials):
        failures["normal"] += st.normal_law(rng.normal(0, 0.3, n), 0.3, alpha) is not None
        failures["uniform"] += st.uniform_law(rng.uniform(-0.7, 0.7, n), 0.7, alpha) is not None
        w = rng.uniform(-10, 10, n)
        w[np.abs(w) < 5] = 0
        failures["my_init"] += st.my_init_law(w, alpha) is not None
    assert all(f / trials <= alpha for f in failures.values()), failures
    # and the same checks do fail a wrong law at that size (the counts above are not zero for lack of power)
    missed = sum(st.normal_law(rng.normal(0, 0.36, n), 0.3, alpha) is None for _ in range(trials))
    assert missed / trials < 0.5, missed
