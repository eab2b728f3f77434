"""The torch side (linkedonnx.data) and the torch-free side (linkedonnx.arrays) give the
same stored arrays and the same prepared inputs for every data set name, and importing
the torch-free side does not load torch."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from linkedonnx import arrays, data
from tests.arrays.idx_files import write_fashion


def _write_cifar(root: Path) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for i, name in enumerate([*(f"data_batch_{k}" for k in range(1, 6)), "test_batch"]):
        entry = {"data": rng.integers(0, 256, (4, 3072), dtype=np.uint8),
                 "labels": [(i + j) % 10 for j in range(4)]}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    return root


def _data_dir(name: str, tmp_path: Path) -> Path | None:
    if name == "cifar10":
        return _write_cifar(tmp_path)
    if name == "fashion-mnist":
        write_fashion(tmp_path / "fm")
        return tmp_path / "fm"
    return None


def _torch_formula(images: torch.Tensor, d: data.ImageData) -> torch.Tensor:
    """The preparation as the torch side wrote it before it called arrays.apply."""
    x = images.to(torch.float32) / d.scale
    if d.mean is not None and d.std is not None:
        x = (x - d.mean.view(1, -1, 1, 1)) / d.std.view(1, -1, 1, 1)
    size = (d.image_size, d.image_size)
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


@pytest.mark.parametrize("standardize", [False, True])
@pytest.mark.parametrize("image_size", [None, 12])
@pytest.mark.parametrize("name", data.names())
def test_torch_and_numpy_prepare_alike(
    tmp_path: Path, name: str, standardize: bool, image_size: int | None
) -> None:
    assert set(data.names()) == set(arrays.names())
    folder = _data_dir(name, tmp_path)
    torch_side = data.load(name, image_size=image_size, standardize=standardize, data_dir=folder)
    raw = arrays.load_raw(name, folder, image_size=torch_side.image_size)
    pre = arrays.preprocess_for(raw, image_size, standardize)
    assert pre == torch_side.preprocess
    for split, images in (("train", torch_side.train_images), ("test", torch_side.test_images)):
        stored, labels = raw.split(split)
        assert np.array_equal(stored, images.numpy())
        assert np.array_equal(labels, torch_side.split(split == "train")[1].numpy())
        prepared = arrays.labelled(raw, pre, split).images
        from_torch = torch_side.prepare(images).numpy()
        assert prepared.dtype == np.float32 and prepared.shape == from_torch.shape
        np.testing.assert_array_equal(prepared, from_torch)
        np.testing.assert_allclose(
            prepared, _torch_formula(images, torch_side).numpy(), rtol=0, atol=1e-5
        )


def test_importing_the_numpy_data_module_does_not_load_torch() -> None:
    code = (
        "import sys\n"
        "import linkedonnx.arrays as a\n"
        "import linkedonnx.arrays.idx, linkedonnx.arrays.cifar\n"
        "raw = a.load_raw('digits')\n"
        "x = a.labelled(raw, a.preprocess_for(raw, 16, True)).images\n"
        "assert x.shape[1:] == (1, 16, 16), x.shape\n"
        "print('torch' in sys.modules)\n"
    )
    env_path = str(Path(__file__).resolve().parents[2])
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True,
        env={"PYTHONPATH": env_path, "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.stdout.strip() == "False"
