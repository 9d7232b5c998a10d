"""`sift-bovw`: hide the cells of randomly chosen visual words.

The pre-deep-learning "bag of visual words": dense SIFT descriptors (Lowe, "Distinctive Image
Features from Scale-Invariant Keypoints", IJCV 2004) quantised against a k-means codebook (Sivic &
Zisserman, "Video Google", ICCV 2003; Csurka et al., "Visual Categorization with Bags of
Keypoints", ECCV workshops 2004).

The image is cut into square cells of side ``cell_size`` (default size/4, 8 px at 32 px, or the next
smaller side that SIFT's 4x4 spatial bins fit: 7 px becomes 6); every
cell gets one SIFT descriptor (:class:`CellSIFT`: the numbers of kornia's ``SIFTDescriptor`` with
``patch_size = cell`` on the grayscale cell) and the nearest of ``words`` codebook entries.
:meth:`SiftBoVW.fit` learns the codebook with scikit-learn's ``MiniBatchKMeans`` on the cells of up
to ``fit_images`` training images and caches it per parameters and data. The default of 64 words
is the low end of the usual 64-256: an image has only 16 cells, and with fewer words more of them
share a word (on ``shapes``, 9.5 distinct words per image against 10.8 with 128 words). A mask hides *all* the cells of randomly ordered
words present in the image: the words are taken in that order until the hidden count reaches
``mask_area`` (40%) of the cells, and the last word is kept or dropped at random with the
probability that puts the expected count on target (:func:`masks.cells.choose_labelled`). So the
mean area is on target, an image is off by less than one word either way, and at least one word
is hidden.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from kornia.feature import DenseSIFTDescriptor, SIFTDescriptor
from kornia.feature.siftdesc import get_sift_bin_ksize_stride_pad, get_sift_pooling_kernel
from sklearn.cluster import MiniBatchKMeans
from threadpoolctl import threadpool_limits
from torch import Tensor, nn

from baselines.options import check_area, check_cell
from masks import MaskStrategy, register
from masks.atomic import atomic_write
from masks.cells import cells_to_pixels, choose_labelled, grid_size

VERSION = 2  # bump when the descriptor or the clustering changes, so stale codebooks are not reused
CHUNK_PIXELS = 65_536  # pixels per descriptor call (1,024 cells of 8 px): its temporaries stay small and cached


@functools.cache
def sift_fits(cell: int, spatial_bins: int = 4) -> bool:
    """Whether kornia's SIFT pooling grid of ``spatial_bins`` per side fits a cell of ``cell`` pixels (4, 5, 6 and 8 up)."""
    try:
        get_sift_bin_ksize_stride_pad(cell, spatial_bins)
    except ValueError:
        return False
    return True


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


class CellSIFT(nn.Module):
    """kornia's ``SIFTDescriptor(patch_size=cell)`` of many cells at once, built from kornia's own stages.

    ``SIFTDescriptor`` bins the gradient orientations with a mask, a product and a convolution per
    angle bin. kornia's ``DenseSIFTDescriptor.get_gradient_histograms`` computes the same soft
    orientation votes with two scatters. The descriptor's Gaussian window and its spatial pooling
    (kornia's kernel, stride and zero padding) are linear in those votes, so they are one matrix
    (cell * cell pixels -> spatial bins), built once from the transposed pooling. Then comes
    SIFT's normalisation: L2, clip at 0.2, RootSIFT. The result equals ``SIFTDescriptor`` to float
    rounding (tested); with the chunking of :meth:`SiftBoVW._per_chunk` it takes about 0.6 of the
    time of one ``SIFTDescriptor`` call on the whole batch on the CPU (BENCHMARKS.md).
    """

    def __init__(self, cell: int, angle_bins: int = 8, spatial_bins: int = 4, clip: float = 0.2) -> None:
        super().__init__()
        self.votes = DenseSIFTDescriptor(num_ang_bins=angle_bins)  # only its gradient-histogram stage is used
        reference = SIFTDescriptor(patch_size=cell, num_ang_bins=angle_bins, num_spatial_bins=spatial_bins)
        ksize, stride, pad = get_sift_bin_ksize_stride_pad(cell, spatial_bins)
        kernel = get_sift_pooling_kernel(ksize).view(1, 1, ksize, ksize)
        # each spatial bin's weights over the pixels: the transposed pooling convolution of that bin alone
        bins = torch.eye(spatial_bins**2).view(-1, 1, spatial_bins, spatial_bins)
        extra = cell - ((spatial_bins - 1) * stride - 2 * pad + ksize)  # output padding up to the cell side
        weights = F.conv_transpose2d(bins, kernel, stride=stride, padding=pad, output_padding=extra)  # (bins, 1, cell, cell)
        pooling = (weights * reference.get_weighting_kernel()).flatten(1).T  # (pixels, spatial bins), Gaussian window applied
        self.register_buffer("pooling", pooling, persistent=False)
        self.clip, self.eps = clip, reference.eps

    def forward(self, cells: Tensor) -> Tensor:
        """Descriptors (n, angle_bins * spatial_bins**2) of grayscale cells (n, 1, cell, cell), in kornia's layout."""
        votes = self.votes.get_gradient_histograms(cells)  # (n, angle_bins, cell, cell)
        pooled = (votes.flatten(2) @ self.pooling).flatten(1)  # (n, angle_bins * spatial_bins**2), angle-major
        clipped = F.normalize(pooled, dim=1).clamp_(0.0, self.clip)
        # SIFT L2-normalises again before RootSIFT's L1 normalisation, which undoes any rescaling: skipped.
        # The entries are >= 0, so the L1 norm is the sum (F.normalize's p=1 path is 10x slower).
        return (clipped / clipped.sum(1, keepdim=True).clamp_min(1e-12)).add_(self.eps).sqrt_()


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

    def __init__(self, mask_area: float = 0.4, words: int = 64, cell_size: int | None = None, fit_images: int = 2000) -> None:
        if int(words) != words or words < 2:
            raise ValueError(f"words must be an integer >= 2, got {words}")
        if int(fit_images) != fit_images or fit_images < 1:
            raise ValueError(f"fit_images must be a positive integer, got {fit_images}")
        self.target_area = check_area(mask_area)
        self.words = int(words)
        self.cell_size = check_cell(cell_size)
        if self.cell_size is not None and not sift_fits(self.cell_size):
            raise ValueError(f"cell_size {self.cell_size} px is too small for SIFT's 4x4 spatial bins; use 4, 5, 6 or 8 and up")
        self.fit_images = int(fit_images)
        self.codebook: Tensor | None = None  # (words, 128), once fitted
        self._sift: dict[tuple[int, str], CellSIFT] = {}
        self._codebooks: dict[str, tuple[Tensor, Tensor]] = {}  # per device: centres (128, words), -|centre|^2 / 2

    def cell(self, size: int) -> int:
        """The cell side for images of side ``size``: ``cell_size``, or size/4 (7 px becomes 6, which SIFT's bins fit)."""
        if self.cell_size is not None:
            return self.cell_size
        cell = size // 4
        while cell > 4 and not sift_fits(cell):
            cell -= 1
        if not sift_fits(cell):
            raise ValueError(
                f"its default cells need images of at least 16 px, got {size} px; set cell_size (--cell-size) to 4 or more"
            )
        return cell

    def descriptors(self, images: Tensor) -> Tensor:
        """Dense SIFT (B * cells, 128) of every cell of ``images`` (B, C, H, W), in float32."""
        return self._per_chunk(images, lambda descriptors: descriptors)

    def assign(self, images: Tensor) -> Tensor:
        """The visual word of every cell, (B, gh * gw) long, row-major."""
        if self.codebook is None:
            raise RuntimeError("sift-bovw: call fit(images) to learn the codebook before masking")
        device = str(images.device)
        if device not in self._codebooks:
            centres = self.codebook.to(images.device)
            self._codebooks[device] = (centres.T.contiguous(), -0.5 * (centres * centres).sum(1))
        centres_t, offsets = self._codebooks[device]
        # nearest centre: argmin |d - c|^2 = argmax d.c - |c|^2 / 2, in float32 even in a bf16 step
        words = self._per_chunk(images, lambda descriptors: torch.addmm(offsets, descriptors, centres_t).argmax(1))
        return words.view(images.shape[0], -1)

    def _per_chunk(self, images: Tensor, then: Callable[[Tensor], Tensor]) -> Tensor:
        """``then`` of the SIFT descriptors of the cells of ``images``, chunk by chunk, concatenated.

        On the CPU the cells go through :class:`CellSIFT` in chunks of about ``CHUNK_PIXELS`` pixels:
        one call on a whole batch allocates tens of megabytes of temporaries, and the page faults of
        those fresh allocations cost more than the arithmetic. Other devices take one call.
        """
        cell = self.cell(images.shape[-2])
        key = (cell, str(images.device))
        if key not in self._sift:
            self._sift[key] = CellSIFT(cell).to(images.device)
        sift = self._sift[key]
        with torch.no_grad(), torch.autocast(images.device.type, enabled=False):
            cells = cell_patches(images, cell)
            chunk = max(1, CHUNK_PIXELS // cell**2) if cells.device.type == "cpu" else cells.shape[0]
            return torch.cat([then(sift(part)) for part in cells.split(chunk)])

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
        desc = self.descriptors(images).cpu().numpy().astype(np.float32)
        k = min(self.words, desc.shape[0])
        with threadpool_limits(1):  # small problem: one thread is fastest, and immune to busy cores
            kmeans = MiniBatchKMeans(n_clusters=k, random_state=0, batch_size=2048, n_init=3).fit(desc)
        codebook = kmeans.cluster_centers_.astype(np.float32)
        if path is not None:
            atomic_write(path, lambda handle: np.save(handle, codebook))
        self._set_codebook(codebook)

    def _set_codebook(self, codebook: np.ndarray) -> None:
        self.codebook = torch.from_numpy(np.ascontiguousarray(codebook, dtype=np.float32))
        self._codebooks = {}

    def __call__(self, images: Tensor, generator: torch.Generator, instances: Tensor | None = None) -> Tensor:
        b, _, h, w = images.shape
        cell = self.cell(h)
        words = self.assign(images)  # (B, n_cells)
        hidden = choose_labelled(words, self.codebook.shape[0], self.target_area * words.shape[1], generator)
        hidden = hidden.view(b, 1, grid_size(h, cell), grid_size(w, cell))
        return cells_to_pixels(hidden, cell, h, w)
