"""Clustering probe on frozen features, as the published ADIOS code evaluates encoders.

Shi et al. (ICML 2022), YugeTen/adios ``main_clustering.py``: k-means on the train and on the test
features (here: the features passed, the test features in a run), scored against the labels with NMI, ARI and FMI (scikit-learn's metrics). Three choices differ from that
script, on purpose: k is the number of classes (the script passes ``labels.max()``, one fewer for
labels 0..K-1), the features are standardised first (as for the linear probe), and k-means is seeded
with ``n_init`` initialisations (the script leaves both to scikit-learn's defaults).
"""

from __future__ import annotations

import numpy as np
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, fowlkes_mallows_score, normalized_mutual_info_score
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


def cluster_labels(features: np.ndarray, n_clusters: int, n_init: int = 10, seed: int = 0) -> np.ndarray:
    """Cluster assignments of the standardised ``features`` (Lloyd's k-means, k-means++ init, best of ``n_init``).

    Full-batch ``KMeans`` at every size: at 50,000 x 512 it costs less than the linear probe, and
    ``MiniBatchKMeans`` found other partitions (BENCHMARKS.md, "Probes at scale"). One thread: on a
    busy 2-core machine, two made it 2-4x slower; the partition does not depend on the thread count.
    """
    x = StandardScaler().fit_transform(np.asarray(features, dtype=np.float32))
    with threadpool_limits(1):
        return KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit_predict(x)


def clustering_probe(features: np.ndarray, labels: np.ndarray, n_init: int = 10, seed: int = 0) -> dict[str, float]:
    """k-means with k = number of classes on standardised features, scored against ``labels``.

    Returns ``cluster_nmi`` (normalised mutual information), ``cluster_ari`` (adjusted Rand index) and
    ``cluster_fmi`` (Fowlkes-Mallows index). The same ``seed`` gives the same scores.
    """
    labels = np.asarray(labels)
    predicted = cluster_labels(features, len(np.unique(labels)), n_init, seed)
    return {
        "cluster_nmi": float(normalized_mutual_info_score(labels, predicted)),
        "cluster_ari": float(adjusted_rand_score(labels, predicted)),
        "cluster_fmi": float(fowlkes_mallows_score(labels, predicted)),
    }
