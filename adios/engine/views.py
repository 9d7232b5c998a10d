"""Two random views of every image, drawn per sample on batched tensors (docs/method.md §7).

torchvision's v2 transforms draw one set of parameters for a whole batch tensor; kornia's
augmentations draw per sample, so every image in the batch gets its own crop, jitter and blur.
kornia draws from torch's global generator, which we seed from (seed, step, view) inside a
forked RNG state: the views depend on nothing but the run's seed and the step.
"""

from __future__ import annotations

from dataclasses import dataclass

import kornia.augmentation as K
import torch
from torch import Tensor

from adios.data.dataset import ImageDataset
from adios.engine.seeding import generator, global_seed


@dataclass(frozen=True)
class AugmentSettings:
    """The view pipeline's parameters. The defaults are the standard SimCLR/BYOL protocol."""

    crop_scale: tuple[float, float] = (0.08, 1.0)
    jitter: tuple[float, float, float, float] = (0.8, 0.8, 0.8, 0.2)
    jitter_p: float = 0.8
    grayscale_p: float = 0.2
    blur_p: float = 0.5
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    flip_p: float = 0.5


@dataclass
class Views:
    """A batch of paired views, normalised, with the instance maps that went through the same geometry."""

    a: Tensor
    b: Tensor
    instances_a: Tensor | None
    instances_b: Tensor | None
    labels: Tensor

    def to(self, device: torch.device) -> Views:
        """The same views on ``device``."""
        move = lambda t: None if t is None else t.to(device)  # noqa: E731
        return Views(move(self.a), move(self.b), move(self.instances_a), move(self.instances_b), move(self.labels))


class Augment:
    """One random view per image: crop + flip (applied to the instance map too), then colour and blur."""

    def __init__(self, size: int, settings: AugmentSettings) -> None:
        kernel = max(3, int(0.1 * size) // 2 * 2 + 1)
        self.geometric = K.AugmentationSequential(
            K.RandomResizedCrop((size, size), scale=settings.crop_scale, resample="BICUBIC"),
            K.RandomHorizontalFlip(p=settings.flip_p),
            data_keys=["input", "mask"],
        )
        self.photometric = K.AugmentationSequential(
            K.ColorJitter(*settings.jitter, p=settings.jitter_p),
            K.RandomGrayscale(p=settings.grayscale_p),
            K.RandomGaussianBlur((kernel, kernel), settings.blur_sigma, p=settings.blur_p),
        )

    def __call__(self, images: Tensor, instances: Tensor | None) -> tuple[Tensor, Tensor | None]:
        """``images``: float (B, C, H, W) in [0, 1]; ``instances``: (B, H, W) integer map or None."""
        if instances is None:
            x = self.geometric(images, torch.zeros_like(images[:, :1]))[0]
            inst = None
        else:
            x, m = self.geometric(images, instances[:, None].float())
            inst = m[:, 0].round().to(instances.dtype)
        return self.photometric(x.clamp(0, 1)).clamp(0, 1), inst


class PairedViews:
    """Makes the two views of a batch for a given step. Pure in (seed, step, indices, rank).

    The images come from the dataset's self-supervised pool (``ssl_images``: the train split plus any
    unlabeled split), or from the labelled train split alone with ``labelled_only`` (the supervised
    reference). A batch of uint8 images moves to ``device`` (from pinned memory on CUDA, without
    blocking) and is augmented there, per sample, in batched kornia calls. Under torchrun each rank
    makes the views of its slice of the batch (``rank``), from streams of its own.
    """

    def __init__(
        self,
        data: ImageDataset,
        settings: AugmentSettings,
        seed: int,
        *,
        labelled_only: bool = False,
        device: torch.device | str = "cpu",
    ) -> None:
        self.data = data
        self.seed = seed
        self.device = torch.device(device)
        self.images = data.train_images if labelled_only else data.ssl_images
        self.labels = data.train_labels if labelled_only else data.ssl_labels
        self.augment = Augment(data.image_size, settings)

    def render_pairs(self, step: int, n: int, rank: int | None = None) -> tuple[Tensor, Tensor]:
        """Which render of each image feeds view a and view b (always different when there are several)."""
        renders = self.data.renders
        if renders == 1:
            zeros = torch.zeros(n, dtype=torch.long)
            return zeros, zeros
        g = generator(self.seed, "renders", step, *_of_rank(rank))
        first = torch.randint(0, renders, (n,), generator=g)
        second = (first + torch.randint(1, renders, (n,), generator=g)) % renders
        return first, second

    def _to_device(self, batch: Tensor) -> Tensor:
        if self.device.type == "cuda":
            return batch.pin_memory().to(self.device, non_blocking=True)
        return batch

    def __call__(self, step: int, indices: Tensor, rank: int | None = None) -> Views:
        """The views of the images ``indices`` at ``step``; under torchrun, ``rank`` is the process whose
        slice of the step's batch ``indices`` are, and each rank draws its own views from (seed, step, view, rank)."""
        data = self.data
        pair = self.render_pairs(step, len(indices), rank)
        out = []
        for view, renders in enumerate(pair):
            images = self._to_device(self.images[indices, renders]).float().div(255)
            instances = None if data.train_instances is None else self._to_device(data.train_instances[indices, renders]).long()
            with global_seed(self.seed, "views", step, view, *_of_rank(rank)):
                x, inst = self.augment(images, instances)
            out.append((data.normalise(x), inst))
        (a, inst_a), (b, inst_b) = out
        labels = self._to_device(self.labels[indices])
        return Views(a=a, b=b, instances_a=inst_a, instances_b=inst_b, labels=labels)


def _of_rank(rank: int | None) -> tuple[int, ...]:
    """What a rank adds to the index of a random stream: nothing in one process, its rank under torchrun."""
    return () if rank is None else (rank,)
