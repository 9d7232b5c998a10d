"""What the probes cost: feature extraction images/s, and the linear and kNN probes' seconds.

Feature extraction runs :func:`eval.features.extract_features` as the probes run it: uint8 images
normalised batch by batch, bf16 autocast, the encoder in eval mode, channels_last as built for a
run. The probes call :mod:`eval.probes` on synthetic features shaped like a ResNet's: 10 classes,
non-negative (after a ReLU and global pooling), low-rank class structure plus noise, so the linear
probe is neither trivially separable nor hopeless (its accuracy is reported as a check).
"""

from __future__ import annotations

import time
import warnings
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_info, threadpool_limits

from adios.bench.steps import cell_settings
from adios.bench.timing import synchronize
from adios.runner.run import build_models
from eval.features import extract_features
from eval.probes import fit_linear_probe, knn_probe

CLASSES = 10
LATENT = 64  # rank of the class structure


def synthetic_features(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` float32 features (``dim``) and labels: ReLU((class mean + noise) W) + a little noise, like pooled ResNet features.

    The class means and W are the same for every ``seed``; the samples differ.
    """
    structure = np.random.default_rng(12345)
    means = structure.normal(0.0, 1.0, (CLASSES, LATENT))
    mixing = structure.normal(0.0, 1.0 / np.sqrt(LATENT), (LATENT, dim))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    latent = 0.35 * means[labels] + rng.normal(0.0, 1.0, (n, LATENT))
    features = np.maximum(latent @ mixing, 0.0) + 0.05 * rng.random((n, dim))
    return features.astype(np.float32), labels


def probe_seconds(n_train: int, n_test: int, dim: int = 512) -> dict[str, Any]:
    """Seconds of the linear probe (fit + score; with the BLAS's default threads and with one) and of kNN with
    k = 20 and k = 200, as ``adios.runner.run.probe`` calls them."""
    train_x, train_y = synthetic_features(n_train, dim, seed=0)
    test_x, test_y = synthetic_features(n_test, dim, seed=1)

    def linear_fit() -> tuple[float, Any]:
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fitted = fit_linear_probe(train_x, train_y)
            fitted.score(test_x, test_y)
        return time.perf_counter() - start, fitted

    linear_s, linear = linear_fit()
    with threadpool_limits(1):  # the BLAS under scikit-learn: its threads can cost more than they bring
        linear_one_s, _ = linear_fit()
    linear_acc = float(linear.score(test_x, test_y))
    start = time.perf_counter()
    knn20 = knn_probe(train_x, train_y, test_x, test_y, k=20)
    knn20_s = time.perf_counter() - start
    start = time.perf_counter()
    knn200 = knn_probe(train_x, train_y, test_x, test_y, k=200)
    knn200_s = time.perf_counter() - start
    return {
        "n_train": n_train,
        "n_test": n_test,
        "dim": dim,
        "linear_seconds": linear_s,
        "linear_seconds_one_blas_thread": linear_one_s,
        "blas_threads": max((i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"), default=None),
        "linear_iterations": int(np.max(linear[-1].n_iter_)),
        "linear_acc": linear_acc,
        "knn20_seconds": knn20_s,
        "knn20_acc": knn20,
        "knn200_seconds": knn200_s,
        "knn200_acc": knn200,
    }


def extraction_rate(encoder_name: str, image_size: int, n_images: int, device: torch.device) -> dict[str, Any]:
    """Images/s of :func:`eval.features.extract_features` on ``n_images`` uint8 images (after one warm-up batch)."""
    settings = cell_settings(encoder_name, image_size)
    encoder, _ = build_models(settings, SimpleNamespace(image_size=image_size), device)
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n_images, 3, image_size, image_size), dtype=torch.uint8, generator=g)
    mean = torch.tensor([0.5, 0.5, 0.5], device=device).view(1, 3, 1, 1)

    def normalise(x: torch.Tensor) -> torch.Tensor:
        return (x.float() / 255 - mean) / 0.25

    autocast = settings.precision == "bf16"
    extract_features(encoder, images[:64], autocast=autocast, normalise=normalise)  # warm-up
    synchronize(device)
    start = time.perf_counter()
    features = extract_features(encoder, images, autocast=autocast, normalise=normalise)
    synchronize(device)
    seconds = time.perf_counter() - start
    return {
        "encoder": encoder_name,
        "image_size": image_size,
        "images": n_images,
        "feature_dim": int(features.shape[1]),
        "seconds": seconds,
        "images_per_s": n_images / seconds,
    }
