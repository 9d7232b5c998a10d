import math

import numpy as np
import pytest
import torch
from sklearn.pipeline import Pipeline

from eval.probes import (
    _wants_torch,
    chance_level,
    fit_linear_probe,
    fit_sklearn_linear_probe,
    fit_torch_logistic,
    knn_probe,
    linear_probe,
    logistic_objective,
)


def test_probes_solve_separable_features(separable):
    x, y = separable
    assert linear_probe(x[:200], y[:200], x[200:], y[200:]) > 0.97
    assert knn_probe(x[:200], y[:200], x[200:], y[200:], k=20) > 0.97


def test_probes_are_at_chance_on_shuffled_labels(separable):
    x, y = separable
    rng = np.random.default_rng(1)
    shuffled = rng.permutation(y)
    assert linear_probe(x[:200], shuffled[:200], x[200:], shuffled[200:]) < 0.4  # chance 0.2
    assert knn_probe(x[:200], shuffled[:200], x[200:], shuffled[200:], k=20) < 0.4


def test_knn_votes_are_weighted_by_similarity():
    """Two close neighbours of class 1 outvote three distant ones of class 0 at k = 5 (exp(sim / 0.07))."""
    train_x = np.array([[1.0, 0.0], [0.99, 0.14], [0.0, 1.0], [0.1, 1.0], [-0.1, 1.0]])
    train_y = np.array([1, 1, 0, 0, 0])
    test_x = np.array([[1.0, 0.05]])
    assert knn_probe(train_x, train_y, test_x, np.array([1]), k=5) == 1.0


def knn_by_hand(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, k: int) -> np.ndarray:
    """Predictions of the weighted kNN vote: sum over the k nearest (cosine) of exp(cos / 0.07), by brute force."""
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    sim = unit(test_x) @ unit(train_x).T
    votes = np.zeros((len(test_x), train_y.max() + 1))
    for i, row in enumerate(np.argsort(-sim, axis=1)[:, :k]):
        np.add.at(votes[i], train_y[row], np.exp(sim[i, row] / 0.07))
    return votes.argmax(1)


def test_knn_reference_computation():
    """The vote equals sum over neighbours of exp(cos / 0.07), computed by brute force."""
    rng = np.random.default_rng(2)
    train_x, test_x = rng.normal(size=(40, 6)), rng.normal(size=(15, 6))
    train_y = rng.integers(0, 3, 40)
    assert knn_probe(train_x, train_y, test_x, knn_by_hand(train_x, train_y, test_x, k=10), k=10) == 1.0


def test_chance_level():
    assert chance_level(np.array([0, 0, 0, 1])) == 0.75


# --- the linear probe's objective, fitted by scikit-learn and by torch L-BFGS (the GPU path, run on the CPU)


@pytest.fixture
def overlapping():
    """Four overlapping classes with features of very different scales and offsets (accuracy well below 1)."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(4, 12))
    y = rng.integers(0, 4, 600)
    x = (centres[y] + 1.5 * rng.normal(size=(600, 12))) * rng.uniform(0.1, 10, 12) + rng.normal(size=12) * 20
    return x[:400], y[:400], x[400:], y[400:]


def _reference_objective(z: np.ndarray, y: np.ndarray, weight: np.ndarray, bias: np.ndarray, c: float) -> float:
    """scikit-learn's documented objective, by hand: mean of -log softmax(zW' + b)_y, plus ||W||² / (2 C n)."""
    total = 0.0
    for row, label in zip(z, y, strict=True):
        logits = weight @ row + bias
        total += math.log(sum(math.exp(v) for v in logits)) - logits[label]
    return total / len(z) + (weight**2).sum() / (2 * c * len(z))


def test_logistic_objective_matches_a_hand_computation():
    rng = np.random.default_rng(4)
    z, y = rng.normal(size=(30, 5)), rng.integers(0, 3, 30)
    weight, bias = rng.normal(size=(3, 5)), rng.normal(size=3)
    value = logistic_objective(*(torch.from_numpy(a) for a in (z, y, weight, bias)), c=0.3)
    assert float(value) == pytest.approx(_reference_objective(z, y, weight, bias, 0.3), rel=1e-12)


def test_torch_lbfgs_reaches_scikit_learns_optimum(overlapping):
    train_x, train_y, test_x, test_y = overlapping
    reference = fit_sklearn_linear_probe(train_x, train_y, c=0.5, max_iter=10_000, tol=1e-10)
    probe = fit_torch_logistic(train_x, train_y, c=0.5, max_iter=10_000, tol=1e-10, dtype=torch.float64)
    scaler, logistic = reference[0], reference[-1]
    z = scaler.transform(train_x)
    np.testing.assert_allclose(probe.mean.numpy(), scaler.mean_, rtol=1e-12)
    np.testing.assert_allclose(probe.scale.numpy(), scaler.scale_, rtol=1e-12)
    ours = _reference_objective(z, train_y, probe.weight.numpy(), probe.bias.numpy(), 0.5)
    theirs = _reference_objective(z, train_y, logistic.coef_, logistic.intercept_, 0.5)
    assert ours == pytest.approx(theirs, rel=1e-9)
    np.testing.assert_allclose(probe.weight.numpy(), logistic.coef_, atol=1e-5)
    np.testing.assert_allclose(probe.bias.numpy(), logistic.intercept_, atol=1e-5)
    accuracy = reference.score(test_x, test_y)
    assert 0.5 < accuracy < 0.95  # a problem where the optimum matters
    assert probe.score(test_x, test_y) == accuracy


def test_torch_lbfgs_in_float32_with_default_settings(overlapping):
    """The settings the GPU path runs with: float32, tol = 1e-4; accuracy within 1 point of scikit-learn's."""
    train_x, train_y, test_x, test_y = overlapping
    reference = fit_sklearn_linear_probe(train_x, train_y)
    probe = fit_torch_logistic(train_x.astype(np.float32), train_y)
    assert probe.weight.dtype == torch.float32
    assert abs(probe.score(test_x, test_y) - reference.score(test_x, test_y)) <= 0.01
    exact = fit_sklearn_linear_probe(train_x, train_y, max_iter=10_000, tol=1e-10)[-1]
    z = reference[0].transform(train_x)
    optimum = _reference_objective(z, train_y, exact.coef_, exact.intercept_, 1.0)
    reached = _reference_objective(z, train_y, probe.weight.double().numpy(), probe.bias.double().numpy(), 1.0)
    assert optimum - 1e-12 <= reached < optimum + 1e-5


def test_torch_probe_keeps_the_labels_and_takes_tensors(separable):
    x, y = separable
    labels = np.array([3, 7, 9, 11, 20])[y]
    probe = fit_torch_logistic(torch.from_numpy(x[:200]).float(), torch.from_numpy(labels[:200]))
    assert set(probe.predict(x[200:])) <= {3, 7, 9, 11, 20}
    assert probe.score(torch.from_numpy(x[200:]), torch.from_numpy(labels[200:])) > 0.97


def test_linear_probe_dispatch():
    """scikit-learn for CPU features; torch L-BFGS when the features are on a CUDA device or one is asked for."""
    cpu = torch.zeros(4, 2)
    assert not _wants_torch(cpu, None)
    assert not _wants_torch(cpu.numpy(), "cpu")
    assert _wants_torch(cpu.numpy(), "cuda")
    assert _wants_torch(torch.zeros(4, 2, device="meta"), None)


def test_fit_linear_probe_takes_cpu_tensors(separable):
    x, y = separable
    probe = fit_linear_probe(torch.from_numpy(x[:200]), torch.from_numpy(y[:200]))
    assert isinstance(probe, Pipeline)
    assert (
        linear_probe(torch.from_numpy(x[:200]), torch.from_numpy(y[:200]), torch.from_numpy(x[200:]), torch.from_numpy(y[200:]))
        > 0.97
    )


def test_linear_probe_fits_in_float32(overlapping):
    """float64 features are fitted as float32 (scikit-learn keeps that dtype); accuracy as in float64."""
    train_x, train_y, test_x, test_y = overlapping
    probe = fit_linear_probe(train_x, train_y)
    assert probe[-1].coef_.dtype == np.float32
    assert abs(probe.score(test_x, test_y) - fit_sklearn_linear_probe(train_x, train_y).score(test_x, test_y)) <= 0.01


def test_knn_in_small_chunks_matches_brute_force():
    """With 1 MiB of working memory, scikit-learn splits the 300 test rows into chunks of 65; votes as by hand."""
    rng = np.random.default_rng(5)
    train_x, test_x = rng.normal(size=(2000, 8)), rng.normal(size=(300, 8))
    train_y = rng.integers(0, 4, 2000)
    expected = knn_by_hand(train_x, train_y, test_x, k=15)
    assert knn_probe(train_x, train_y, test_x, expected, k=15, working_memory_mib=1) == 1.0
