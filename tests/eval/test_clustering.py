import math

import numpy as np
import pytest

from eval.clustering import cluster_labels, clustering_probe


def _entropy(a: np.ndarray) -> float:
    p = np.bincount(a) / len(a)
    return -sum(q * math.log(q) for q in p if q > 0)


def _reference_scores(truth: np.ndarray, predicted: np.ndarray, pair_counts) -> dict[str, float]:
    """NMI (arithmetic mean of the entropies), ARI (Hubert and Arabie) and FMI from first principles."""
    both, only_truth, only_pred, neither = pair_counts(truth, predicted)
    pairs = both + only_truth + only_pred + neither
    same_truth, same_pred = both + only_truth, both + only_pred
    expected = same_truth * same_pred / pairs
    ari = (both - expected) / ((same_truth + same_pred) / 2 - expected)
    fmi = both / math.sqrt(same_truth * same_pred)
    joint = _entropy(truth * (predicted.max() + 1) + predicted)
    mutual = _entropy(truth) + _entropy(predicted) - joint
    nmi = mutual / ((_entropy(truth) + _entropy(predicted)) / 2)
    return {"cluster_nmi": nmi, "cluster_ari": ari, "cluster_fmi": fmi}


def test_clustering_solves_separable_features(separable):
    x, y = separable
    scores = clustering_probe(x, y, n_init=4, seed=0)
    assert set(scores) == {"cluster_nmi", "cluster_ari", "cluster_fmi"}
    assert all(value > 0.99 for value in scores.values()), scores


def test_clustering_is_near_zero_on_shuffled_labels(separable):
    x, y = separable
    shuffled = np.random.default_rng(1).permutation(y)
    scores = clustering_probe(x, shuffled, n_init=4, seed=0)
    assert scores["cluster_nmi"] < 0.05
    assert abs(scores["cluster_ari"]) < 0.02
    # FMI has no chance correction: two unrelated partitions into 5 equal parts score about 1/5.
    assert abs(scores["cluster_fmi"] - 0.2) < 0.03


def test_same_seed_same_scores(separable):
    x, y = separable
    noisy = x + np.random.default_rng(2).normal(size=x.shape) * 6  # overlapping clusters: the seed matters
    assert clustering_probe(noisy, y, n_init=2, seed=3) == clustering_probe(noisy, y, n_init=2, seed=3)


def test_scores_match_a_pair_counting_reference(pair_counts):
    """Three tight blobs found exactly; the labels disagree with them on a few points; k = 3 classes."""
    rng = np.random.default_rng(4)
    blob = np.repeat(np.arange(3), [7, 6, 5])
    x = np.eye(3)[blob] * 10 + rng.normal(size=(18, 3)) * 0.01
    labels = blob.copy()
    labels[[0, 7, 13]] = [1, 2, 0]
    assert np.array_equal(pair_counts(cluster_labels(x, 3, n_init=2), blob)[1:3], (0, 0))  # the blobs, as found
    scores = clustering_probe(x, labels, n_init=2)
    reference = _reference_scores(labels, blob, pair_counts)
    for key, value in reference.items():
        assert scores[key] == pytest.approx(value, abs=1e-12), key
    assert 0.3 < reference["cluster_ari"] < 0.9  # the reference is not trivially 0 or 1


def test_features_are_standardised():
    """One feature with a huge scale and no class signal would capture raw k-means; standardised, the signal wins."""
    rng = np.random.default_rng(5)
    y = np.repeat(np.arange(2), 100)
    signal = y[:, None] * 6 + rng.normal(size=(200, 1))
    loud_noise = rng.normal(size=(200, 1)) * 1e3
    x = np.hstack([signal, loud_noise])
    assert clustering_probe(x, y, n_init=4)["cluster_ari"] > 0.9
