"""`sift-bovw`: hide the cells of randomly chosen visual words.

The pre-deep-learning "bag of visual words": dense SIFT descriptors (Lowe, "Distinctive Image
Features from Scale-Invariant Keypoints", IJCV 2004) quantised against a k-means codebook (Sivic &
Zisserman, "Video Google", ICCV 2003; Csurka et al., "Visual Categorization with Bags of
Keypoints", ECCV workshops 2004).

The image is cut into square cells of side ``cell_size`` (default size/4: 8 px at 32 px); every
cell gets one SIFT descriptor (kornia's ``SIFTDescriptor`` with ``patch_size = cell``, on the
grayscale cell) and the nearest of ``words`` (128) codebook entries. :meth:`SiftBoVW.fit` learns the
codebook with scikit-learn's ``MiniBatchKMeans`` on the cells of up to ``fit_images`` training
images and caches it per parameters and data. A mask hides *all* the cells of randomly ordered
words present in the image: the words are taken in that order until the hidden count reaches
``mask_area`` (40%) of the cells, and the last word is kept or dropped at random with the
probability that puts the expected count on target (:func:`masks.cells.choose_groups`). So the
mean area is on target, an image is off by less than one word either way, and at least one word
is hidden.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from kornia.feature import SIFTDescriptor
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits
from torch import Tensor

from baselines.options import check_area, check_cell
from masks import MaskStrategy, register
from masks.cells import cells_to_pixels, choose_groups, grid_size

VERSION = 1  # bump when the descriptor or the clustering changes, so stale codebooks are not reused
DESCRIPTOR_CHUNK = 16_384  # cells per SIFT call while fitting, to bound memory


def cell_patches(images: Tensor, cell: int) -> Tensor:
    """Grayscale cells (B * gh * gw, 1, cell, cell) of images (B, C, H, W), row-major per image.

    The channel mean is the grayscale image (SIFT is invariant to the affine intensity change that
    normalisation applies); a partial last row or column of cells is padded by replication.
    """
    b, _, h, w = images.shape
    gray = images.float().mean(1, keepdim=True)
    gh, gw = grid_size(h, cell), grid_size(w, cell)
    if (gh * cell, gw * cell) != (h, w):
        gray = F.pad(gray, (0, gw * cell - w, 0, gh * cell - h), mode="replicate")
    cells = gray.unfold(2, cell, cell).unfold(3, cell, cell)  # (B, 1, gh, gw, cell, cell)
    return cells.reshape(b * gh * gw, 1, cell, cell)


def _atomic_save(path: Path, array: np.ndarray) -> None:
    """Write ``array`` as .npy beside ``path``, then rename it over ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            np.save(handle, array)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def data_fingerprint(images: Tensor) -> str:
    """A short hash of the images' shape and of a strided sample of their values."""
    flat = images.detach().reshape(-1)
    sample = flat[:: max(1, flat.numel() // 100_000)].float().cpu().numpy()
    digest = hashlib.sha256(str(tuple(images.shape)).encode())
    digest.update(sample.tobytes())
    return digest.hexdigest()[:16]


@register("sift-bovw")
class SiftBoVW(MaskStrategy):
    """Dense SIFT visual words; a mask hides every cell of randomly chosen words, about ``mask_area`` of the cells."""

    def __init__(self, mask_area: float = 0.4, words: int = 128, cell_size: int | None = None, fit_images: int = 2000) -> None:
        if int(words) != words or words < 2:
            raise ValueError(f"words must be an integer >= 2, got {words}")
        if int(fit_images) != fit_images or fit_images < 1:
            raise ValueError(f"fit_images must be a positive integer, got {fit_images}")
        self.target_area = check_area(mask_area)
        self.words = int(words)
        self.cell_size = check_cell(cell_size)
        self.fit_images = int(fit_images)
        self.codebook: Tensor | None = None  # (words, 128), once fitted
        self._sift: dict[tuple[int, str], SIFTDescriptor] = {}
        self._codebooks: dict[str, Tensor] = {}

    def cell(self, size: int) -> int:
        """The cell side for images of side ``size``."""
        return self.cell_size or max(1, size // 4)

    def descriptors(self, images: Tensor) -> Tensor:
        """Dense SIFT (B * cells, 128) of every cell of ``images`` (B, C, H, W), in float32."""
        cell = self.cell(images.shape[-2])
        key = (cell, str(images.device))
        if key not in self._sift:
            self._sift[key] = SIFTDescriptor(patch_size=cell).to(images.device)
        with torch.no_grad(), torch.autocast(images.device.type, enabled=False):
            return self._sift[key](cell_patches(images, cell))

    def assign(self, images: Tensor) -> Tensor:
        """The visual word of every cell, (B, gh * gw) long, row-major."""
        if self.codebook is None:
            raise RuntimeError("sift-bovw: call fit(images) to learn the codebook before masking")
        device = str(images.device)
        if device not in self._codebooks:
            self._codebooks[device] = self.codebook.to(images.device)
        centres = self._codebooks[device]
        desc = self.descriptors(images)
        with torch.autocast(images.device.type, enabled=False):  # float32 distances, even in a bf16 step
            # nearest centre: argmin |d - c|^2 = argmax d.c - |c|^2 / 2
            scores = desc @ centres.T - 0.5 * (centres * centres).sum(1)
        return scores.argmax(1).view(images.shape[0], -1)

    def fit(self, images: Tensor, cache_dir: Path | None = None) -> None:
        """Learn the codebook from (up to ``fit_images`` of) ``images`` (N, C, H, W), or load it from ``cache_dir``."""
        size = images.shape[-2]
        params = {"v": VERSION, "words": self.words, "cell": self.cell(size), "fit_images": self.fit_images}
        key = hashlib.sha256(json.dumps(params, sort_keys=True).encode() + data_fingerprint(images).encode())
        path = None if cache_dir is None else Path(cache_dir) / f"sift-bovw-{key.hexdigest()[:16]}.npy"
        if path is not None and path.exists():
            try:
                self._set_codebook(np.load(path))
                return
            except (OSError, ValueError):  # a corrupt cache is rebuilt
                path.unlink(missing_ok=True)
        if images.shape[0] > self.fit_images:
            keep = torch.randperm(images.shape[0], generator=torch.Generator().manual_seed(0))[: self.fit_images]
            images = images[keep.sort().values.to(images.device)]
        cells = grid_size(images.shape[-2], self.cell(size)) * grid_size(images.shape[-1], self.cell(size))
        patches = [self.descriptors(chunk) for chunk in images.split(max(1, DESCRIPTOR_CHUNK // cells))]
        desc = torch.cat(patches).cpu().numpy().astype(np.float32)
        k = min(self.words, desc.shape[0])
        with threadpool_limits(1):  # small problem: one thread is fastest, and immune to busy cores
            kmeans = MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=2048, n_init=3).fit(desc)
        codebook = kmeans.cluster_centers_.astype(np.float32)
        if path is not None:
            _atomic_save(path, codebook)
        self._set_codebook(codebook)

    def _set_codebook(self, codebook: np.ndarray) -> None:
        self.codebook = torch.from_numpy(np.ascontiguousarray(codebook, dtype=np.float32))
        self._codebooks = {}

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        cell = self.cell(h)
        words = self.assign(images)  # (B, n_cells)
        counts = torch.zeros(b, self.codebook.shape[0], device=images.device)
        counts.scatter_add_(1, words, torch.ones_like(words, dtype=torch.float))
        chosen = choose_groups(counts, self.target_area * words.shape[1], generator)  # (B, words)
        hidden = chosen.gather(1, words).view(b, 1, grid_size(h, cell), grid_size(w, cell))
        return cells_to_pixels(hidden, cell, h, w)
