import torch

from eval.robustness import occlude


def test_occluders_cover_about_a_quarter_and_are_fixed():
    images = torch.full((200, 3, 32, 32), 7, dtype=torch.uint8)
    a, coverage = occlude(images, fill=(0.5, 0.5, 0.5))
    b, _ = occlude(images, fill=(0.5, 0.5, 0.5))
    assert torch.equal(a, b)  # a fixed, held-out seed
    assert 0.18 < coverage < 0.3
    changed = (a != images).any(1).float().mean()
    assert abs(float(changed) - coverage) < 1e-6  # covered pixels, and only they, take the fill
    assert set(a.unique().tolist()) == {7, 128}


def test_occluders_differ_between_images_and_keep_the_rest():
    images = torch.randint(0, 256, (8, 3, 16, 16), dtype=torch.uint8)
    out, _ = occlude(images, fill=(0.2, 0.4, 0.6))
    painted = (out != images).any(1)
    assert len({tuple(m.flatten().tolist()) for m in painted}) == 8
    assert torch.equal(out[~painted.unsqueeze(1).expand_as(out)], images[~painted.unsqueeze(1).expand_as(images)])
