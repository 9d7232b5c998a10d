import numpy as np
import pytest

from eval.probes import chance_level, knn_probe, linear_probe


@pytest.fixture
def separable():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(5, 16)) * 5
    y = np.repeat(np.arange(5), 60)
    x = centres[y] + rng.normal(size=(300, 16))
    order = rng.permutation(300)
    return x[order], y[order]


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


def test_knn_reference_computation():
    """The vote equals sum over neighbours of exp(cos / 0.07), computed by brute force."""
    rng = np.random.default_rng(2)
    train_x, test_x = rng.normal(size=(40, 6)), rng.normal(size=(15, 6))
    train_y = rng.integers(0, 3, 40)
    unit = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)  # noqa: E731
    sim = unit(test_x) @ unit(train_x).T
    predictions = []
    for row in sim:
        top = np.argsort(-row)[:10]
        votes = np.zeros(3)
        for j in top:
            votes[train_y[j]] += np.exp(row[j] / 0.07)
        predictions.append(votes.argmax())
    predictions = np.array(predictions)
    assert knn_probe(train_x, train_y, test_x, predictions, k=10) == 1.0


def test_chance_level():
    assert chance_level(np.array([0, 0, 0, 1])) == 0.75
