"""The Predictor on the raw digits test images: the labels and accuracy that
`validate --data digits` reports, one image or a batch, either layout, several threads,
and one-line BadInputErrors (ValueErrors) for wrong shapes, dtypes and layouts."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from linkedonnx.arrays import load_raw, model_data
from linkedonnx.deploy import Predictor
from linkedonnx.errors import BadInputError
from tests.cli.invoke import exit_code
from tests.deploy.models import digits_classifier


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return digits_classifier(tmp_path_factory.mktemp("predictor") / "digits.onnx")


@pytest.fixture(scope="module")
def raw_test() -> tuple[np.ndarray, np.ndarray]:
    raw = load_raw("digits")
    return raw.test_images, raw.test_labels  # uint8 0..16, NCHW [N, 1, 8, 8]


def test_raw_digits_give_what_validate_reports(model: Path, raw_test, tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    assert exit_code("validate", str(model), "--data", "digits", "--json", str(report)) == 0
    validated = json.loads(report.read_text())
    images, labels = raw_test
    predicted = Predictor(model).predict(images.transpose(0, 2, 3, 1))  # NHWC, as stored pixels
    assert predicted.dtype == np.int64 and predicted.shape == labels.shape
    assert validated["samples"] == len(labels)
    assert np.mean(predicted == labels) == pytest.approx(validated["model_accuracy"], abs=0)
    assert validated["model_accuracy"] > 0.9
    proto = onnx.load(model)
    _, prepared = model_data(proto, "digits")
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"x": prepared.images})[0]
    np.testing.assert_array_equal(predicted, logits.argmax(axis=1))


def test_outputs_layouts_single_images_batches_and_threads(model: Path, raw_test) -> None:
    images, _ = raw_test
    predictor = Predictor(model, threads=1)
    logits = predictor.predict(images, layout="NCHW", output="logits")
    probs = predictor.predict(images, layout="NCHW", output="probs", batch_size=7)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(probs.argmax(axis=1), logits.argmax(axis=1))
    single = predictor.predict(images[3].transpose(1, 2, 0), output="logits")
    np.testing.assert_allclose(single[0], logits[3], rtol=1e-5, atol=1e-5)
    prepared = predictor.prepare(images, layout="NCHW")
    np.testing.assert_array_equal(
        predictor.predict(prepared, prepared=True, layout="NCHW"), logits.argmax(axis=1)
    )
    chunks = np.array_split(images, 8)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(lambda c: predictor.predict(c, layout="NCHW", batch_size=5), chunks)
        )
    np.testing.assert_array_equal(np.concatenate(results), logits.argmax(axis=1))


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (
            lambda p, x: p.predict(x),
            "in layout NHWC; the model takes 1",
        ),  # NCHW pixels read as NHWC
        (lambda p, x: p.predict(x[:, 0], layout="NCHW"), "have 4 channel(s) in layout NCHW"),
        (lambda p, x: p.predict(x[0, 0, 0], layout="NCHW"), "expected one image"),
        (lambda p, x: p.predict(x.astype(bool), layout="NCHW"), "dtype bool"),
        (lambda p, x: p.predict(x.astype(str), layout="NCHW"), "dtype <U"),
        (lambda p, x: p.predict(x, prepared=True, layout="NCHW"), "must be floats"),
        (lambda p, x: p.predict(x, layout="CHWN"), "unknown layout"),
        (lambda p, x: p.predict(x, layout="NCHW", output="scores"), "unknown output"),
        (lambda p, x: p.predict(x, layout="NCHW", batch_size=0), "batch size"),
        (lambda p, x: p.predict(np.zeros((2, 2, 8, 8), np.uint8), layout="NCHW"), "channel"),
    ],
)
def test_bad_images_raise_one_line_value_errors(model: Path, raw_test, call, words: str) -> None:
    with pytest.raises(BadInputError) as caught:
        call(Predictor(model), raw_test[0][:4])
    assert isinstance(caught.value, ValueError)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_a_model_without_preprocessing_takes_prepared_input_only(model: Path) -> None:
    proto = onnx.load(model)
    del proto.metadata_props[:]
    predictor = Predictor(proto)
    with pytest.raises(BadInputError, match="records no preprocessing"):
        predictor.predict(np.zeros((1, 8, 8, 1), np.uint8))
    assert predictor.predict(np.zeros((1, 16, 16, 1), np.float32), prepared=True).shape == (1,)


def test_openvino_predictor_agrees_with_onnx_runtime_from_several_threads(
    model: Path, raw_test, tmp_path: Path
) -> None:
    """Issue 25: the Predictor on OpenVINO (f32, compiled-model cache) gives ONNX Runtime's
    logits, also when several threads call it at once (the runner serializes its runs)."""
    pytest.importorskip("openvino", reason="the openvino extra is not installed")
    images = raw_test[0][:40].transpose(0, 2, 3, 1)
    want = Predictor(model).predict(images, output="logits")
    cache = tmp_path / "ov-cache"
    ov = Predictor(model, provider="openvino", threads=1, cache_dir=cache)
    assert ov.runner.settings()["config"]["INFERENCE_PRECISION_HINT"] == "f32"
    np.testing.assert_allclose(ov.predict(images, output="logits"), want, rtol=1e-4, atol=1e-4)
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(lambda i: ov.predict(images[i : i + 10]), range(0, 40, 10)))
    np.testing.assert_array_equal(np.concatenate(parts), want.argmax(axis=1))
    assert any(cache.iterdir())
    with pytest.raises(BadInputError, match="--precision bf16 needs --provider openvino"):
        Predictor(model, precision="bf16")
