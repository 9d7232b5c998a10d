"""The negative control: it hides the class-defining object, as its bounding box or its exact pixels."""

import pytest
import torch

import masks
from adios.errors import UserError
from adios.runner.run import build_strategy


def scene() -> torch.Tensor:
    inst = torch.zeros(2, 8, 8, dtype=torch.long)
    inst[0, 2:5, 3] = 1  # a vertical bar ...
    inst[0, 4, 3:7] = 1  # ... and a foot: an L whose bounding box is rows 2-4, columns 3-6
    inst[0, 0, 0] = 2  # a distractor, never hidden
    inst[1, 6:8, 6:8] = 2  # no main object at all (cropped out of the view)
    return inst


def test_box_hides_the_bounding_box_of_instance_one():
    masks_ = masks.build("hide-main-object")(torch.zeros(2, 3, 8, 8), torch.Generator(), scene())
    expected = torch.zeros(2, 1, 8, 8)
    expected[0, 0, 2:5, 3:7] = 1
    assert torch.equal(masks_, expected)


def test_object_hides_exactly_its_pixels():
    masks_ = masks.build("hide-main-object", region="object")(torch.zeros(2, 3, 8, 8), torch.Generator(), scene())
    assert torch.equal(masks_[:, 0], (scene() == 1).float())


def test_it_is_a_control_and_needs_a_dataset_that_names_the_class_object(tiny_shapes):
    cls = masks.get("hide-main-object")
    assert cls.control and cls.needs_class_object and not masks.takes_area("hide-main-object")
    assert tiny_shapes.class_object
    build_strategy("hide-main-object", {}, 0, tiny_shapes)
    other = tiny_shapes.subset()
    other.class_object = False
    with pytest.raises(UserError, match="needs to know which object defines the class"):
        build_strategy("hide-main-object", {}, 0, other)
    with pytest.raises(ValueError, match="region"):
        masks.build("hide-main-object", region="halo")
