"""Probes on frozen features (docs/method.md §8), all with settings fixed in advance.

* linear: multinomial logistic regression on standardised features, scikit-learn's objective
  (mean log-loss + ||W||² / (2 C n), intercept not penalised). On the CPU, scikit-learn fits it; when
  the features are on a CUDA device (or ``device`` asks for one), torch's full-batch L-BFGS fits the
  same objective there (:func:`fit_torch_logistic`);
* kNN: cosine similarity, k neighbours, votes weighted by exp(sim / 0.07) (Wu et al. 2018, as in DINO);
* clustering: k-means scored with NMI, ARI and FMI, in :mod:`eval.clustering`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import sklearn
import torch
import torch.nn.functional as F
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits
from torch import Tensor

KNN_TEMPERATURE = 0.07
KNN_WORKING_MEMORY_MIB = 64


def fit_sklearn_linear_probe(
    train_x: np.ndarray, train_y: np.ndarray, c: float = 1.0, max_iter: int = 1000, tol: float = 1e-4
) -> Pipeline:
    """A standardise + logistic-regression (lbfgs) pipeline fitted on the training features.

    Fitted with one BLAS thread: each lbfgs step is two thin products (n x d by d x classes), and on a
    2-core machine with other jobs running, two OpenBLAS threads made the fit 15-47x slower
    (BENCHMARKS.md, "Probes at scale"); as the sift-bovw codebook fit does.
    """
    probe = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=max_iter, tol=tol))
    with threadpool_limits(1):
        return probe.fit(train_x, train_y)


class TorchLinearProbe:
    """Standardisation and a multinomial linear classifier held as torch tensors on one device."""

    def __init__(self, mean: Tensor, scale: Tensor, weight: Tensor, bias: Tensor, classes: Tensor) -> None:
        self.mean, self.scale, self.weight, self.bias, self.classes = mean, scale, weight, bias, classes

    def _features(self, x: np.ndarray | Tensor) -> Tensor:
        x = torch.as_tensor(x, device=self.weight.device, dtype=self.weight.dtype)
        return (x - self.mean) / self.scale

    @torch.no_grad()
    def decision_function(self, x: np.ndarray | Tensor) -> Tensor:
        """Logits (N, K) of the classes in ``self.classes`` order."""
        return torch.addmm(self.bias, self._features(x), self.weight.T)

    def predict(self, x: np.ndarray | Tensor) -> np.ndarray:
        return self.classes[self.decision_function(x).argmax(1)].cpu().numpy()

    def score(self, x: np.ndarray | Tensor, y: np.ndarray | Tensor) -> float:
        """Top-1 accuracy, like scikit-learn's ``score``."""
        y = y.cpu().numpy() if isinstance(y, Tensor) else np.asarray(y)
        return float(np.mean(self.predict(x) == y))


def logistic_objective(z: Tensor, target: Tensor, weight: Tensor, bias: Tensor, c: float) -> Tensor:
    """scikit-learn's multinomial objective: mean cross-entropy + ||W||² / (2 C n); the bias is not penalised."""
    logits = torch.addmm(bias, z, weight.T)
    return F.cross_entropy(logits, target) + weight.square().sum() / (2 * c * z.shape[0])


def fit_torch_logistic(
    train_x: np.ndarray | Tensor,
    train_y: np.ndarray | Tensor,
    c: float = 1.0,
    max_iter: int = 1000,
    tol: float = 1e-4,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float32,
) -> TorchLinearProbe:
    """Standardise, then fit scikit-learn's logistic objective with torch's full-batch L-BFGS on ``device``.

    The GPU path of the linear probe. The stopping rule mirrors scikit-learn's lbfgs: the largest
    gradient component of the (mean-scaled) objective at or below ``tol``, or ``max_iter`` iterations;
    10 correction pairs and a strong-Wolfe line search, as in SciPy's L-BFGS-B. Starting from zero keeps
    the intercepts summing to zero, the solution scikit-learn returns.
    """
    x = torch.as_tensor(train_x).to(device=device, dtype=dtype)
    y = torch.as_tensor(np.asarray(train_y) if not isinstance(train_y, Tensor) else train_y).to(x.device)
    classes, target = torch.unique(y, return_inverse=True)
    mean = x.mean(0)
    std = x.std(0, correction=0)
    # As StandardScaler: a constant feature is centred and left unscaled.
    scale = torch.where(std > 10 * torch.finfo(dtype).eps * mean.abs().clamp_min(1), std, torch.ones_like(std))
    z = (x - mean) / scale
    del x
    weight = torch.zeros(len(classes), z.shape[1], device=z.device, dtype=dtype, requires_grad=True)
    bias = torch.zeros(len(classes), device=z.device, dtype=dtype, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias],
        lr=1.0,
        max_iter=max_iter,
        max_eval=max_iter * 5 // 4,
        tolerance_grad=tol,
        tolerance_change=torch.finfo(dtype).eps,
        history_size=10,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = logistic_objective(z, target, weight, bias, c)
        loss.backward()
        return loss

    optimizer.step(closure)
    return TorchLinearProbe(mean, scale, weight.detach(), bias.detach(), classes)


def _wants_torch(train_x: Any, device: str | torch.device | None) -> bool:
    if device is not None:
        return torch.device(device).type != "cpu"
    return isinstance(train_x, Tensor) and train_x.device.type != "cpu"


def fit_linear_probe(
    train_x: np.ndarray | Tensor,
    train_y: np.ndarray | Tensor,
    c: float = 1.0,
    max_iter: int = 1000,
    device: str | torch.device | None = None,
) -> Pipeline | TorchLinearProbe:
    """A linear probe fitted on the training features; it has ``.score(x, y)`` and ``.predict(x)``.

    On the CPU: :func:`fit_sklearn_linear_probe` (lbfgs, tol 1e-4) on the features as float32, which
    scikit-learn keeps through the fit (float64 input took 1.8x as long at 50,000 x 512, BENCHMARKS.md).
    :func:`fit_torch_logistic`, the same objective, when ``train_x`` is on a CUDA device or ``device``
    names one.
    """
    if _wants_torch(train_x, device):
        return fit_torch_logistic(train_x, train_y, c, max_iter, device=device or train_x.device)
    train_x = train_x.numpy() if isinstance(train_x, Tensor) else train_x
    train_y = train_y.numpy() if isinstance(train_y, Tensor) else train_y
    return fit_sklearn_linear_probe(np.asarray(train_x, dtype=np.float32), train_y, c, max_iter)


def linear_probe(
    train_x: np.ndarray | Tensor,
    train_y: np.ndarray | Tensor,
    test_x: np.ndarray | Tensor,
    test_y: np.ndarray | Tensor,
    c: float = 1.0,
    device: str | torch.device | None = None,
) -> float:
    """Test top-1 accuracy of a logistic-regression probe on standardised features."""
    probe = fit_linear_probe(train_x, train_y, c, device=device)
    if isinstance(probe, Pipeline) and isinstance(test_x, Tensor):
        test_x = test_x.numpy()
    if isinstance(probe, Pipeline) and isinstance(test_y, Tensor):
        test_y = test_y.numpy()
    return float(probe.score(test_x, test_y))


def _similarity_weights(distances: np.ndarray) -> np.ndarray:
    # scikit-learn's cosine distance is 1 - cos; the vote weight is exp(cos / T), scaled by the
    # constant exp(-1/T) (which cancels in the vote) to stay finite.
    return np.exp(-distances / KNN_TEMPERATURE)


def knn_probe(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    k: int = 20,
    working_memory_mib: int = KNN_WORKING_MEMORY_MIB,
) -> float:
    """Test top-1 accuracy of a cosine kNN with exp(sim / 0.07)-weighted votes.

    scikit-learn computes the test-train distances in row chunks of about ``working_memory_mib``
    (its ``working_memory``); the default 1024 MiB chunk and its argpartition added 1.5 GiB at
    50,000 train x 10,000 test, 64 MiB adds about 0.2 GiB and was not slower (BENCHMARKS.md).
    """
    k = min(k, len(train_x))
    knn = KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute", weights=_similarity_weights)
    with sklearn.config_context(working_memory=working_memory_mib):
        return float(knn.fit(train_x, train_y).score(test_x, test_y))


def chance_level(labels: np.ndarray) -> float:
    """Accuracy of always predicting the most frequent class."""
    counts = np.bincount(labels)
    return float(counts.max() / counts.sum()) if counts.size else math.nan
