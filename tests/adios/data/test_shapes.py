import math

import numpy as np
import torch
from scipy import ndimage
from sklearn.linear_model import LogisticRegression

from adios.data.shapes import SHAPES, _backgrounds, _scenes, make_shapes, render, shape_templates


def test_generation_is_deterministic_in_the_seed(tmp_path):
    a = make_shapes(n_train=40, n_test=20, renders=2, seed=3, cache_dir=tmp_path / "a")
    b = make_shapes(n_train=40, n_test=20, renders=2, seed=3, cache_dir=tmp_path / "b")
    c = make_shapes(n_train=40, n_test=20, renders=2, seed=4, cache_dir=tmp_path / "c")
    assert torch.equal(a.train_images, b.train_images) and torch.equal(a.test_instances, b.test_instances)
    assert torch.equal(a.train_labels, b.train_labels)
    assert not torch.equal(a.train_images, c.train_images)


def test_cache_round_trip_and_corrupt_cache_is_regenerated(tmp_path):
    first = make_shapes(n_train=30, n_test=10, renders=2, cache_dir=tmp_path)
    (cache,) = tmp_path.glob("shapes-*.pt")
    again = make_shapes(n_train=30, n_test=10, renders=2, cache_dir=tmp_path)
    assert torch.equal(first.train_images, again.train_images)
    cache.write_bytes(b"not a torch file")
    regenerated = make_shapes(n_train=30, n_test=10, renders=2, cache_dir=tmp_path)
    assert torch.equal(first.train_images, regenerated.train_images)


def test_shapes_layout(tiny_shapes):
    d = tiny_shapes
    assert d.train_images.shape == (96, 2, 3, 32, 32) and d.train_images.dtype == torch.uint8
    assert d.test_images.shape == (48, 3, 32, 32)
    assert d.train_instances.shape == (96, 2, 32, 32) and d.test_instances.shape == (48, 32, 32)
    assert len(d.classes) == 10 and set(d.train_labels.tolist()) == set(range(10))
    # every image has its main object (instance 1), and ids are 0..3 only
    assert bool((d.train_instances == 1).flatten(2).any(-1).all())
    assert int(d.train_instances.max()) <= 3


def test_other_sizes():
    d = make_shapes(n_train=12, n_test=4, size=64, renders=2)
    assert d.train_images.shape[-2:] == (64, 64) and d.test_instances.shape[-2:] == (64, 64)


def test_instance_maps_agree_with_pixels():
    """Away from edges, background pixels equal the background; object pixels differ from it."""
    g = torch.Generator().manual_seed(0)
    size = 32
    templates = shape_templates(SHAPES, 64)
    backgrounds = _backgrounds(8, size, g)
    scenes = _scenes(64, 10, size, g)
    images, instances, background = render(scenes, size, backgrounds, templates, g)
    diff = (images.float() / 255 - background).abs().amax(1)
    inst = instances.numpy()
    interior_bg = np.stack([ndimage.binary_erosion(m == 0, iterations=1) for m in inst])
    interior_obj = np.stack([ndimage.binary_erosion(m == 1, iterations=1) for m in inst])
    # (thin anti-aliased slivers of objects, with coverage under one half, are the only exceptions)
    assert (diff[torch.from_numpy(interior_bg)] > 2 / 255).float().mean() < 0.005
    # object pixels contrast with what is under them (luminance offset >= 0.25 by construction)
    assert diff[torch.from_numpy(interior_obj)].mean() > 0.15


def test_main_object_renders_identically_across_renders(tiny_shapes):
    inst = tiny_shapes.train_instances
    same = (inst[:, 0] == 1) == (inst[:, 1] == 1)
    # the main object's silhouette is the same in both renders, except where a distractor covers it
    assert same.float().mean() > 0.98


def test_class_is_not_predictable_from_colour():
    d = make_shapes(n_train=2000, n_test=1000, renders=1)

    def colour_stats(images):
        x = images.float() / 255
        return torch.cat([x.mean((2, 3)), x.std((2, 3))], 1).numpy()

    probe = LogisticRegression(max_iter=2000).fit(colour_stats(d.train_images[:, 0]), d.train_labels.numpy())
    accuracy = probe.score(colour_stats(d.test_images), d.test_labels.numpy())
    assert accuracy < 0.2  # chance is 0.1


def test_templates_are_centred_and_fit():
    t = shape_templates(SHAPES, 64)
    axis = (torch.arange(64) + 0.5) / 64 * 2 - 1
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    for alpha in t[:, 0]:
        mass = alpha.sum()
        assert abs(float((alpha * xx).sum() / mass)) < 0.05 and abs(float((alpha * yy).sum() / mass)) < 0.05
        assert float(alpha[0].sum() + alpha[-1].sum() + alpha[:, 0].sum() + alpha[:, -1].sum()) < 1e-6  # inside the frame
    assert not math.isclose(float(t[0].sum()), float(t[1].sum()))


def test_generation_says_so_once_on_stderr(tmp_path, capsys):
    make_shapes(n_train=20, n_test=10, size=32, renders=2, cache_dir=tmp_path)
    err = capsys.readouterr().err
    assert err == f"generating the shapes dataset (20 train, 10 test, 32 px) once; cached in {tmp_path}\n"
    again = make_shapes(n_train=20, n_test=10, size=32, renders=2, cache_dir=tmp_path)
    assert capsys.readouterr().err == "" and again.ssl_images is again.train_images
