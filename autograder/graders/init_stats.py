"""Statistics for the `init` graders: tests against the exact law, with rigorous finite-sample bounds.

Every bound here holds for every sample size (no asymptotics, no scipy needed at grading time):

- shape: the Kolmogorov–Smirnov distance D between the sample and the exact law's CDF F.
  Dvoretzky–Kiefer–Wolfowitz with Massart's constant: P(D > eps) <= 2 exp(-2 n eps^2) for i.i.d.
  draws of F, any n, any F. So ``ks_threshold(n, alpha)`` has false-failure probability <= alpha.
- spread of a normal law: S = sum (w / sigma)^2 is chi-square with n degrees of freedom.
  Laurent & Massart (2000): P(S >= n + 2 sqrt(n x) + 2x) <= e^-x and P(S <= n - 2 sqrt(n x)) <= e^-x;
  with x = ln(2 / alpha) the two sides together fail with probability <= alpha.
- bounded values (the second moment of Xavier's uniform draws, the count of my_init's zeros):
  Hoeffding: P(|mean - E| >= t) <= 2 exp(-2 n t^2 / range^2).
- largest value of normal draws: union bound, P(max |Z| > t) <= n P(|Z| > t) = n erfc(t / sqrt 2).

Only NumPy ufuncs, sorts and reductions are used, never BLAS (np.dot and friends): in the grading
process OpenBLAS's worker threads meet the engine forking sandboxes from other threads, and a
threaded dot product then loses partial sums (or deadlocks).

The laws are those of the contract; the samples come from torch's float32/float64 samplers, which
differ from the ideal law by rounding only: its CDF is within ~1e-7 of the ideal one (24-bit
uniforms, Box–Muller in float32, normals truncated beyond ~5.8 sigma: mass < 1e-8). The thresholds
below carry slacks much larger than that (``SAMPLER_SLACK``, ``RELATIVE_SLACK``), so the stated
probabilities hold for the real sampler too.

A correct submission spends at most ``SUBMISSION_ALPHA`` = 1e-6 in all (union bound): it meets
``STATISTICAL_RULES`` = 7 statistical rules (the weight laws of init_normal, init_xavier, my_init and
init_kaiming_relu, init_first_last's Xavier layer, init_lazy's two law checks), each spending
``RULE_ALPHA`` = 1e-6 / 7, and a rule with k statistical assertions gives each ``RULE_ALPHA / k``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

SUBMISSION_ALPHA = 1e-6  # the false-failure probability of a correct submission, all rules together
STATISTICAL_RULES = 7  # the init rules that spend it (test_init.STATISTICAL names them; a test counts them)
RULE_ALPHA = SUBMISSION_ALPHA / STATISTICAL_RULES  # per statistical rule (union bound over its assertions)
SAMPLER_SLACK = 1e-5  # added to KS thresholds: >> the CDF distance between torch's samplers and the ideal law
RELATIVE_SLACK = 1e-4  # widens moment bounds relatively: >> float rounding and normal-tail truncation


# ------------------------------------------------------------------ thresholds


def ks_threshold(n: int, alpha: float) -> float:
    """D above this has probability <= alpha under the law (DKW–Massart), plus the sampler slack."""
    return math.sqrt(math.log(2 / alpha) / (2 * n)) + SAMPLER_SLACK


def chi2_interval(n: int, alpha: float) -> tuple[float, float]:
    """A chi-square(n) variable falls outside this interval with probability <= alpha (Laurent–Massart)."""
    x = math.log(2 / alpha)
    lo = n - 2 * math.sqrt(n * x)
    hi = n + 2 * math.sqrt(n * x) + 2 * x
    return lo * (1 - RELATIVE_SLACK), hi * (1 + RELATIVE_SLACK)


def hoeffding_halfwidth(n: int, alpha: float, value_range: float = 1.0) -> float:
    """The mean of n i.i.d. values in an interval of length value_range strays further from its
    expectation with probability <= alpha (Hoeffding)."""
    return value_range * math.sqrt(math.log(2 / alpha) / (2 * n))


def normal_max_bound(n: int, alpha: float) -> float:
    """t such that n i.i.d. N(0, 1) draws have max |Z| > t with probability <= alpha (union bound)."""
    lo, hi = 1.0, 40.0
    for _ in range(100):  # bisection on n * erfc(t / sqrt 2) = alpha
        mid = (lo + hi) / 2
        if n * math.erfc(mid / math.sqrt(2)) > alpha:
            lo = mid
        else:
            hi = mid
    return hi


# ------------------------------------------------------------------ statistics


def flat(w) -> np.ndarray:
    """A float64 NumPy copy, flattened (NumPy, not torch ops: no intra-op threads in the grading process)."""
    if isinstance(w, torch.Tensor):
        w = w.detach().cpu()
        w = (w if w.dtype in (torch.float32, torch.float64) else w.to(torch.float64)).numpy()
    return np.asarray(w, dtype=np.float64).reshape(-1)


def ks_distance(x, cdf) -> float:
    """sup |F_n - F| for the sample x and a vectorized CDF (numpy float64 array in, array out)."""
    u = cdf(np.sort(flat(x)))
    n = len(u)
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(max(np.max(i / n - u), np.max(u - (i - 1) / n)))


def normal_cdf(z: np.ndarray) -> np.ndarray:
    """Phi(z) in NumPy: erfc by its Chebyshev fit (Numerical Recipes' erfcc, relative error < 1.2e-7,
    so |error| < 1.2e-7 on the CDF: far below SAMPLER_SLACK). No scipy import, no torch threads."""
    x = np.abs(z) / math.sqrt(2)
    t = 1.0 / (1.0 + 0.5 * x)
    poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (
        0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(-x * x + poly)
    return np.where(z >= 0, 1.0 - 0.5 * erfc, 0.5 * erfc)


def uniform_cdf(lo: float, hi: float) -> Callable[[np.ndarray], np.ndarray]:
    """The CDF of the uniform law on [lo, hi]."""
    return lambda x: np.clip((x - lo) / (hi - lo), 0.0, 1.0)


def my_init_nonzero_cdf(x: np.ndarray) -> np.ndarray:
    """CDF of my_init's nonzero entries: uniform on [-10, -5] U [5, 10] (each half with mass 1/2)."""
    left = np.clip((x + 10) / 10, 0.0, 0.5)
    right = np.clip((x - 5) / 10, 0.0, 0.5)
    return left + right


# ------------------------------------------------------------------ law checks
# Each returns None when the sample passes, or a Finding that says which check failed.


@dataclass
class Finding:
    """What a law's test found wrong, for the hint: which check, and how far off."""

    check: str  # "shape", "spread", "support", "zeros", "size"
    ratio: float = float("nan")  # for "spread": observed standard deviation / the law's
    detail: str = ""


def normal_law(w, sigma: float, alpha: float) -> Finding | None:
    """w i.i.d. N(0, sigma^2)? Two assertions, alpha / 2 each:
    KS distance of w / sigma to N(0, 1) (DKW) and sum (w / sigma)^2 in the chi-square(n) interval."""
    z = flat(w) / sigma
    n = z.size
    if not np.all(np.isfinite(z)):
        return Finding("shape", detail="not finite")
    s = float(np.sum(z * z))  # not np.dot: BLAS threads + the engine forking sandboxes = lost partial sums
    lo, hi = chi2_interval(n, alpha / 2)  # false failure <= alpha / 2 (Laurent–Massart)
    if not lo <= s <= hi:
        return Finding("spread", ratio=math.sqrt(s / n))
    if ks_distance(z, normal_cdf) > ks_threshold(n, alpha / 2):  # false failure <= alpha / 2 (DKW)
        bounded = float(np.max(np.abs(z))) <= 1.05 * math.sqrt(3 * s / n)  # a normal sample reaches ~4 sd
        return Finding("shape", ratio=math.sqrt(s / n), detail="uniform" if bounded else "")
    return None


def uniform_law(w, a: float, alpha: float) -> Finding | None:
    """w i.i.d. U(-a, a)? The support is exact (|w| <= a, up to float rounding of a); then two
    assertions, alpha / 2 each: mean of (w / a)^2 within Hoeffding's half-width of 1/3 (values in
    [0, 1]) and the KS distance of w / a to U(-1, 1) (DKW)."""
    u = flat(w) / a
    n = u.size
    if not np.all(np.isfinite(u)):
        return Finding("support", detail="not finite")
    top = float(np.max(np.abs(u)))
    if top > 1 + 1e-6:  # exact: float32 rounding of a moves it by < 1e-7 relatively
        z_shape = normal_law(u, math.sqrt(float(np.mean(u * u))), alpha) is None
        return Finding("support", ratio=top, detail="normal" if z_shape else "")
    m2 = float(np.mean(np.minimum(u * u, 1.0)))
    half = hoeffding_halfwidth(n, alpha / 2) + RELATIVE_SLACK  # false failure <= alpha / 2 (Hoeffding)
    if abs(m2 - 1 / 3) > half:
        return Finding("spread", ratio=math.sqrt(3 * m2))
    if ks_distance(u, uniform_cdf(-1.0, 1.0)) > ks_threshold(n, alpha / 2):  # false failure <= alpha / 2 (DKW)
        return Finding("shape", ratio=math.sqrt(3 * m2))
    return None


def my_init_law(w, alpha: float) -> Finding | None:
    """my_init's law: 0 with probability 1/2, else uniform on [-10, -5] U [5, 10]. The support is exact
    (|w| in {0} U [5, 10]); then two assertions, alpha / 2 each: the number of zeros Z ~ Binomial(n, 1/2)
    within Hoeffding's half-width of n / 2, and the KS distance of the nonzero entries (i.i.d. given
    which entries are zero) to their law (DKW)."""
    x = flat(w)
    n = x.size
    if not np.all(np.isfinite(x)):
        return Finding("support", detail="not finite")
    ax = np.abs(x)
    zero = ax == 0
    if np.any(ax > 10):
        return Finding("support", detail="large")
    if np.any(~zero & (ax < 5)):
        return Finding("support", detail="small")
    zeros = int(zero.sum())
    # Hoeffding on the indicator of a zero; + 1 absorbs the float32 grid, where P(|w| < 5) = 1/2 +- 2^-24
    if abs(zeros - n / 2) > n * hoeffding_halfwidth(n, alpha / 2) + 1:  # false failure <= alpha / 2
        negative = int((x < 0).sum())
        return Finding("zeros", ratio=zeros / n, detail="no negatives" if negative == 0 else "")
    nonzero = x[~zero]
    if nonzero.size == 0 or ks_distance(nonzero, my_init_nonzero_cdf) > ks_threshold(nonzero.size, alpha / 2):
        return Finding("shape")  # false failure <= alpha / 2 (DKW on the nonzero entries)
    return None
