"""The trainer: determinism, resume, early stop, output folder rules, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from linkedonnx.checkpoint import load_checkpoint
from linkedonnx.errors import BadInputError
from linkedonnx.train import TrainConfig, train
from linkedonnx.train.outputs import BEST, CHECKPOINT, CONFIG, METRICS


def _config(**kw) -> TrainConfig:
    base = dict(
        model="width/lk-relu",
        data="synthetic",
        epochs=2,
        batch_size=32,
        lr=0.05,
        optimizer="sgd",
        momentum=0.9,
        device="cpu",
        dead_samples=64,
    )
    base.update(kw)
    return TrainConfig(**base)


def _strip(metrics: list[dict]) -> list[dict]:
    return [{k: v for k, v in m.items() if k not in ("seconds", "timestamps")} for m in metrics]


def test_same_seed_same_metrics_and_weights(tmp_path: Path) -> None:
    a = train(_config(out=tmp_path / "a"))
    b = train(_config(out=tmp_path / "b"))
    assert _strip(a.metrics) == _strip(b.metrics)
    for key, value in a.model.state_dict().items():
        assert torch.equal(value, b.model.state_dict()[key]), key
    c = train(_config(seed=1, epochs=1))
    assert _strip(c.metrics)[0] != _strip(a.metrics)[0]
    # it learns: the synthetic classes are separable
    assert a.final["test_accuracy"] > 0.5
    assert a.final["epoch"] == 2 and a.steps == 8


def test_files_written(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = train(_config(out=out, epochs=1))
    assert {p.name for p in out.iterdir()} == {CONFIG, METRICS, CHECKPOINT, BEST}
    lines = [json.loads(x) for x in (out / METRICS).read_text().splitlines()]
    assert len(lines) == 1
    line = lines[0]
    for key in ("epoch", "loss", "train_accuracy", "test_accuracy", "seconds", "dead_units"):
        assert key in line
    layers = line["dead_units"]["layers"]
    assert layers[0][0] == "conv.1" and layers[0][1] == 100  # 50 filters, linked: 2 x 50 units
    saved = load_checkpoint(out / CHECKPOINT)
    assert saved.spec == result.spec
    assert saved.info["epoch"] == 1
    assert any(k.startswith("optimizer.") for k in saved.extra_tensors)
    assert json.loads((out / CONFIG).read_text())["model"] == "width/lk-relu"


@pytest.mark.parametrize("stop_after", [4, 6])  # end of epoch 1, middle of epoch 2
def test_resume_equals_uninterrupted(tmp_path: Path, stop_after: int) -> None:
    full = train(_config(out=tmp_path / "full", epochs=3))
    out = tmp_path / "cut"
    first = train(_config(out=out, epochs=3, max_steps=stop_after))
    assert first.steps == stop_after
    resumed = train(_config(out=out, epochs=3, resume=True))
    assert resumed.steps == full.steps == 12
    assert _strip(resumed.metrics) == _strip(full.metrics)
    for key, value in full.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    on_disk = [json.loads(x) for x in (out / METRICS).read_text().splitlines()]
    assert [m["epoch"] for m in on_disk] == [1, 2, 3]


def test_max_steps_logs_partial_epoch() -> None:
    result = train(_config(epochs=5, max_steps=2))
    assert result.steps == 2
    assert len(result.metrics) == 1 and result.metrics[0]["partial"] is True


def test_existing_output_folder_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "mine.txt").write_text("keep")
    with pytest.raises(BadInputError, match="exists; pass --overwrite"):
        train(_config(out=out, epochs=1))
    assert [p.name for p in out.iterdir()] == ["mine.txt"]
    train(_config(out=out, epochs=1, overwrite=True))
    assert (out / "mine.txt").read_text() == "keep"
    assert (out / METRICS).is_file()


def test_corrupt_checkpoint_on_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_config(out=out, epochs=1))
    path = out / CHECKPOINT
    path.write_bytes(path.read_bytes()[:200])
    before = (out / METRICS).read_text()
    with pytest.raises(BadInputError, match="checkpoint"):
        train(_config(out=out, epochs=2, resume=True))
    assert (out / METRICS).read_text() == before


def test_resume_with_other_model_refused(tmp_path: Path) -> None:
    out = tmp_path / "run"
    train(_config(out=out, epochs=1))
    with pytest.raises(BadInputError, match="was written for"):
        train(_config(model="width/relu", out=out, epochs=2, resume=True))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model": "width/nope"}, "unknown model"),
        ({"data": "imagenet"}, "unknown dataset"),
        ({"data": "cifar10", "data_dir": "/nonexistent/cifar"}, "no CIFAR-10 data"),
        ({"optimizer": "lbfgs"}, "unknown optimizer"),
        ({"epochs": 0}, "--epochs"),
        ({"batch_size": 0}, "--batch"),
        ({"device": "tpu"}, "unknown device"),
    ],
)
def test_bad_input_writes_nothing(tmp_path: Path, change: dict, message: str) -> None:
    out = tmp_path / "never"
    with pytest.raises(BadInputError, match=message):
        train(_config(out=out, **change))
    assert not out.exists()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_amp_trains() -> None:
    result = train(_config(device="cuda", amp=True, epochs=1))
    assert result.final["test_accuracy"] > 0.3


def test_cpu_bf16_amp_trains() -> None:
    result = train(_config(amp=True, epochs=2))
    assert result.final["test_accuracy"] > 0.5


def test_no_shuffle_trains_in_the_split_order_on_the_subset() -> None:
    from linkedonnx import data as data_mod
    from linkedonnx.data.subset import stratified_subset

    seen: list[torch.Tensor] = []
    handle = torch.nn.modules.module.register_module_forward_pre_hook(
        lambda m, inputs: seen.append(inputs[0].detach().clone()) if not seen else None
    )
    try:
        train(_config(epochs=1, max_steps=1, shuffle=False, train_subset=40, dead_samples=0))
    finally:
        handle.remove()
    data = stratified_subset(data_mod.load("synthetic"), 40)
    torch.testing.assert_close(seen[0], data.prepare(data.train_images[:32]))


def test_augmented_keras_adam_run_resumes_exactly_and_stamps_its_epochs(tmp_path: Path) -> None:
    """The paper's ResNet recipe pieces (flips and shifts, Keras Adam with decay): the
    draws are fixed by (seed, epoch, step), so a resumed run equals an uninterrupted one;
    each epoch logs its wall-clock stamps in order."""
    recipe = {"optimizer": "adam-keras", "lr": 1e-3, "lr_decay": 1e-2, "augment": True}
    full = train(_config(out=tmp_path / "full", epochs=3, **recipe))
    out = tmp_path / "cut"
    train(_config(out=out, epochs=3, max_steps=6, **recipe))
    resumed = train(_config(out=out, epochs=3, resume=True, **recipe))
    assert _strip(resumed.metrics) == _strip(full.metrics)
    plain = train(_config(epochs=3, **(recipe | {"augment": False})))
    assert _strip(plain.metrics) != _strip(full.metrics)  # the batches were augmented
    for line in full.metrics:
        stamps = line["timestamps"]
        assert stamps["start"] <= stamps["trained"] <= stamps["evaluated"]
    config = json.loads((tmp_path / "full" / CONFIG).read_text())
    assert config["augment"] is True and config["lr_decay"] == 1e-2


def test_lr_decay_is_keras_adams_only() -> None:
    from linkedonnx.train.trainer import make_optimizer

    optimizer = make_optimizer(
        _config(optimizer="adam-keras", lr_decay=1e-6), [torch.nn.Parameter(torch.zeros(2))]
    )
    assert optimizer.param_groups[0]["decay"] == 1e-6
    with pytest.raises(BadInputError, match="adam-keras"):
        train(_config(optimizer="adam", lr_decay=1e-6))
    with pytest.raises(BadInputError, match="decay"):
        train(_config(optimizer="adam-keras", lr_decay=-1.0))
