"""The shared helpers of the static strategies in masks/cells.py: rectangles, prefixes and groups."""

import pytest
import torch

from masks.cells import cells_to_pixels, choose_groups, choose_labelled, patch_grid, pick_prefix, rectangles


def test_cells_to_pixels_expands_and_crops():
    cells = torch.rand(2, 3, 4, 5) > 0.5
    reference = cells.float().repeat_interleave(3, dim=-2).repeat_interleave(3, dim=-1)[..., :11, :14]
    assert torch.equal(cells_to_pixels(cells, 3, 11, 14), reference)


def test_rectangles_match_slices():
    top, left, h, w = (torch.tensor(v) for v in ([0, 2], [1, 3], [2, 3], [4, 1]))
    r = rectangles(top, left, h, w, 5, 6)
    for i in range(2):
        expected = torch.zeros(5, 6, dtype=torch.bool)
        expected[top[i] : top[i] + h[i], left[i] : left[i] + w[i]] = True
        assert torch.equal(r[i], expected)


def test_pick_prefix_rounds_randomly_to_the_target_on_average():
    totals = torch.tensor([[0.0, 3.0, 7.0, 9.0]]).expand(20000, -1)
    taken = pick_prefix(totals, 5.0, torch.Generator().manual_seed(0))
    assert set(taken.unique().tolist()) == {1, 2}  # only the two prefixes around 5
    assert abs(float(totals.gather(1, taken[:, None]).mean()) - 5.0) < 0.05


def test_pick_prefix_edges():
    g = torch.Generator().manual_seed(0)
    totals = torch.tensor([[0.0, 6.0, 8.0], [0.0, 1.0, 2.0], [0.0, 4.0, 4.0]])
    assert pick_prefix(totals, 2.0, g, min_take=1).tolist() == [1, 2, 1]  # at least one; all if short; first exact
    assert pick_prefix(totals, 0.0, g).tolist() == [0, 0, 0]


def test_choose_groups_takes_whole_present_groups_near_the_target():
    sizes = torch.tensor([[3.0, 0.0, 1.0, 1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]).repeat(5000, 1)
    chosen = choose_groups(sizes, 4.0, torch.Generator().manual_seed(1))
    assert not chosen[:, 1].any() and not chosen[1::2].any()  # never an absent group; nothing in an empty row
    total = (chosen.float() * sizes).sum(1)[::2]
    assert (total >= 1).all()
    assert abs(float(total.mean()) - 4.0) < 0.1
    assert len({tuple(c.tolist()) for c in chosen[::2]}) > 10  # random choices


def test_choose_groups_takes_at_least_one_group():
    sizes = torch.tensor([[5.0, 0.0]]).expand(100, -1)
    assert choose_groups(sizes, 2.0, torch.Generator()).tolist() == [[True, False]] * 100
    assert not choose_groups(sizes, 0.0, torch.Generator()).any()


@pytest.mark.parametrize("n_groups", [3, 128])
@pytest.mark.parametrize("target", [0.0, 1.0, 6.4, 16.0, 40.0])
def test_choose_labelled_chooses_what_choose_groups_chooses(n_groups, target):
    labels = torch.randint(0, n_groups, (2000, 16), generator=torch.Generator().manual_seed(n_groups))
    sizes = torch.zeros(2000, n_groups).scatter_add_(1, labels, torch.ones(2000, 16))
    groups = choose_groups(sizes, target, torch.Generator().manual_seed(7))
    items = choose_labelled(labels, n_groups, target, torch.Generator().manual_seed(7))
    assert torch.equal(items, groups.gather(1, labels))


def test_patch_grid_defaults_to_an_eighth_of_the_height():
    assert patch_grid(32, 32, None) == (4, 8, 8)
    assert patch_grid(30, 20, None) == (3, 10, 7)  # a partial last column
    assert patch_grid(32, 32, 5) == (5, 7, 7)
    assert patch_grid(4, 4, None) == (1, 4, 4)
