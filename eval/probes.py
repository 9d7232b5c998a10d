"""Probes on frozen features (docs/method.md §8), all with settings fixed in advance.

* linear: scikit-learn logistic regression on standardised features;
* kNN: cosine similarity, k neighbours, votes weighted by exp(sim / 0.07) (Wu et al. 2018, as in DINO).
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

KNN_TEMPERATURE = 0.07


def fit_linear_probe(train_x: np.ndarray, train_y: np.ndarray, c: float = 1.0, max_iter: int = 1000):
    """A standardise + logistic-regression pipeline fitted on the training features."""
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter))
    return probe.fit(train_x, train_y)


def linear_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, c: float = 1.0) -> float:
    """Test top-1 accuracy of a logistic-regression probe on standardised features."""
    return float(fit_linear_probe(train_x, train_y, c).score(test_x, test_y))


def _similarity_weights(distances: np.ndarray) -> np.ndarray:
    # scikit-learn's cosine distance is 1 - cos; the vote weight is exp(cos / T), scaled by the
    # constant exp(-1/T) (which cancels in the vote) to stay finite.
    return np.exp(-distances / KNN_TEMPERATURE)


def knn_probe(train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, k: int = 20) -> float:
    """Test top-1 accuracy of a cosine kNN with exp(sim / 0.07)-weighted votes."""
    k = min(k, len(train_x))
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute", weights=_similarity_weights)
    return float(knn.fit(train_x, train_y).score(test_x, test_y))


def chance_level(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent class."""
    counts = np.bincount(labels)
    return float(counts.max() / counts.sum()) if counts.size else math.nan
