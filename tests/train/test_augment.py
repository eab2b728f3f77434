"""The authors' ResNet augmentation (Keras ImageDataGenerator: horizontal flips, 10%
shifts rounded to pixels, edge pixels filling the border), seeded per step."""

from __future__ import annotations

import pytest
import torch

from linkedonnx.train.augment import batch_generator, flip_and_shift


def _image(height: int = 10, width: int = 10) -> torch.Tensor:
    """One 1-channel image whose every pixel is distinct (row * 100 + column)."""
    rows = torch.arange(height)[:, None] * 100
    return (rows + torch.arange(width)[None, :]).float()[None, None]


def test_each_output_is_a_flipped_and_shifted_copy_of_its_input() -> None:
    images = _image().repeat(64, 3, 1, 1)
    out = flip_and_shift(images, batch_generator(0, 0, 0))
    assert out.shape == images.shape
    kinds = set()
    for k in range(64):
        found = None
        for flip in (False, True):
            source = images[k].flip(-1) if flip else images[k]
            for dy in (-1, 0, 1):
                for dx in (-1, 0, 1):
                    rows = (torch.arange(10) - dy).clamp(0, 9)
                    cols = (torch.arange(10) - dx).clamp(0, 9)
                    if torch.equal(out[k], source[:, rows][:, :, cols]):
                        found = (flip, dy, dx)
        assert found is not None  # 10% of a 10-pixel side: shifts of at most 1 pixel
        kinds.add(found)
    assert {k[0] for k in kinds} == {False, True}  # both flipped and unflipped
    assert {k[1] for k in kinds} == {-1, 0, 1} and {k[2] for k in kinds} == {-1, 0, 1}


def test_border_repeats_the_edge_pixel() -> None:
    image = _image()
    out = flip_and_shift(image.repeat(200, 1, 1, 1), batch_generator(3, 1, 2), 0.3)
    for k in range(200):
        values = set(out[k].unique().tolist())
        assert values <= set(image.unique().tolist())  # nothing new: no zero fill


def test_draws_are_fixed_by_seed_epoch_and_step() -> None:
    images = torch.rand(16, 1, 12, 12)
    a = flip_and_shift(images, batch_generator(1, 2, 3))
    b = flip_and_shift(images, batch_generator(1, 2, 3))
    c = flip_and_shift(images, batch_generator(1, 2, 4))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_no_shift_leaves_only_flips() -> None:
    images = torch.rand(32, 2, 6, 6)
    out = flip_and_shift(images, batch_generator(0, 0, 0), 0.0)
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, images, strict=True)]
    same = [torch.equal(o, i) for o, i in zip(out, images, strict=True)]
    assert all(f != s for f, s in zip(flipped, same, strict=True))
    assert 0 < sum(flipped) < 32


def test_bad_batches_are_refused() -> None:
    with pytest.raises(ValueError, match="N, C, H, W"):
        flip_and_shift(torch.zeros(3, 4, 4), batch_generator(0, 0, 0))
    with pytest.raises(ValueError, match="shift_fraction"):
        flip_and_shift(torch.zeros(1, 1, 4, 4), batch_generator(0, 0, 0), -0.1)
