"""`linkedonnx serve` on a real Ray Serve (local Ray, 2 CPUs, 127.0.0.1, a free port),
called through an unmodified ``tritonclient.http.InferenceServerClient``: readiness,
metadata, inference with JSON and binary tensors equal to in-process ONNX Runtime
(1e-5), raw UINT8 images through the recorded preprocessing, the error statuses as
JSON bodies, and a SIGTERM that exits 0 and leaves no Ray process. The replica's
503 (warming up) and 504 (past --timeout) answers are checked on the handler itself."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import tritonclient.http as httpclient

from linkedonnx.arrays import load_raw
from linkedonnx.deploy import Predictor
from linkedonnx.errors import BadInputError
from tests.cli.invoke import run_cli
from tests.deploy.models import digits_classifier

pytestmark = pytest.mark.xdist_group("serve")  # one Ray at a time on the shared cores
NAME = "digits"
MAX_MB = 0.05  # --max-request-mb: 52 KB
#: How long the fixture waits for the ready line: a guard against a hang, not a speed
#: check. Unloaded, serve is ready in about 10 s; beside two busy processes on 2 cores,
#: 105 s (each Ray worker process takes 20 s to start there).
START_LIMIT_S = 360


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _replicas(pid: int) -> set[int]:
    """The Serve replica processes below ``pid`` (Ray titles them ray::ServeReplica:...)."""
    return {p for p in _descendants(pid) if "ServeReplica" in _cmdline(p) and _alive(p)}


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("serve")
    source = digits_classifier(folder / "digits.onnx")
    optimized = folder / "fast.onnx"
    from tests.cli.invoke import exit_code

    assert exit_code("optimize", str(source), "-o", str(optimized)) == 0
    return optimized


@pytest.fixture(scope="module")
def server(model: Path):
    """(process, url, log dir) of `linkedonnx serve` on a free port; stopped at the end."""
    logs = Path(tempfile.mkdtemp(prefix="lo-ray-"))  # short: Ray's socket paths must fit
    args = [
        sys.executable, "-m", "linkedonnx_cli", "serve", str(model), "--port", "0",
        "--name", NAME, "--replicas", "2", "--threads", "1", "--max-batch-size", "4",
        "--max-request-mb", str(MAX_MB), "--log-dir", str(logs),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_LIMIT_S)
    try:
        assert lines and lines[0].startswith(f"serving {NAME} at http://127.0.0.1:"), (
            lines,
            proc.poll(),
            proc.stderr.read() if proc.poll() is not None else "",
        )
        assert lines[0].rstrip().endswith("(2 replicas, max batch 4)")
        url = lines[0].split(" at http://")[1].split()[0]
        yield proc, url, logs
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        shutil.rmtree(logs, ignore_errors=True)


def _reference(model: Path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def test_tritonclient_metadata_and_inference(server, model: Path) -> None:
    _, url, _ = server
    client = httpclient.InferenceServerClient(url=url)
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(NAME)
    meta = client.get_model_metadata(NAME)
    assert meta["name"] == NAME
    assert meta["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [-1, 1, 16, 16]}]
    assert meta["outputs"] == [{"name": "logits", "datatype": "FP32", "shape": [-1, 10]}]
    x = np.random.default_rng(0).standard_normal((3, 1, 16, 16)).astype(np.float32)
    expected = _reference(model, x)
    for binary in (False, True):
        tensor = httpclient.InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x, binary_data=binary)
        wanted = [httpclient.InferRequestedOutput("logits", binary_data=binary)]
        result = client.infer(NAME, [tensor], outputs=wanted, request_id="r1")
        np.testing.assert_allclose(result.as_numpy("logits"), expected, rtol=1e-5, atol=1e-5)
        assert result.get_response()["id"] == "r1"
        assert ("parameters" in result.get_output("logits")) == binary
    result = client.infer(NAME, [tensor])  # no outputs named: binary_data_output
    np.testing.assert_allclose(result.as_numpy("logits"), expected, rtol=1e-5, atol=1e-5)
    raw = load_raw("digits").test_images[:5].transpose(0, 2, 3, 1).copy()  # uint8 NHWC
    tensor = httpclient.InferInput("x", list(raw.shape), "UINT8")
    tensor.set_data_from_numpy(raw)
    logits = client.infer(NAME, [tensor]).as_numpy("logits")
    expected_raw = Predictor(model).predict(raw, output="logits")
    np.testing.assert_allclose(logits, expected_raw, rtol=1e-5, atol=1e-5)
    images = np.random.default_rng(1).standard_normal((12, 1, 1, 16, 16)).astype(np.float32)

    def one(image: np.ndarray) -> np.ndarray:
        own = httpclient.InferenceServerClient(url=url)
        t = httpclient.InferInput("x", list(image.shape), "FP32")
        t.set_data_from_numpy(image)
        return own.infer(NAME, [t]).as_numpy("logits")[0]

    with ThreadPoolExecutor(6) as pool:  # concurrent requests share batches
        answers = np.stack(list(pool.map(one, images)))
    np.testing.assert_allclose(answers, _reference(model, images[:, 0]), rtol=1e-5, atol=1e-5)


def _post(url: str, path: str, body: bytes, headers: dict[str, str] | None = None):
    host, port = url.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", path, body=body, headers=headers or {})
    response = conn.getresponse()
    status, payload = response.status, response.read()
    conn.close()
    return status, payload


def _request(name="x", datatype="FP32", shape=(1, 1, 16, 16), data=None) -> bytes:
    count = int(np.prod(shape))
    data = [0.5] * count if data is None else data
    return json.dumps(
        {"inputs": [{"name": name, "datatype": datatype, "shape": list(shape), "data": data}]}
    ).encode()


def test_errors_are_json_and_leave_the_server_answering(server, model: Path) -> None:
    _, url, _ = server
    infer = f"/v2/models/{NAME}/infer"
    cases = [
        (400, infer, b"{not json", "malformed JSON"),
        (400, infer, _request(name="y"), "expected the one input 'x'"),
        (400, infer, _request(shape=(1, 3, 16, 16)), "shape [1, 3, 16, 16]"),
        (400, infer, _request(datatype="INT32", data=[1] * 256), "datatype INT32"),
        (400, infer, _request(data=[0.5] * 255), "255 values"),
        (400, infer, _request(datatype="UINT8", shape=(1, 16, 16, 3), data=[1] * 768), "channel"),
        (404, "/v2/models/other/infer", _request(), "unknown model 'other'"),
        (413, infer, b" " * int(MAX_MB * 1024 * 1024 + 1), "--max-request-mb"),
    ]
    for status, path, body, words in cases:
        got, payload = _post(url, path, body)
        assert got == status, (path, payload)
        assert words in json.loads(payload)["error"], payload
    header = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 1, 16, 16],
                                     "parameters": {"binary_data_size": 1024}}]}).encode()  # fmt: skip
    got, payload = _post(
        url, infer, header + b"\0" * 1000, {"Inference-Header-Content-Length": str(len(header))}
    )
    assert got == 400 and "short" in json.loads(payload)["error"]
    with ThreadPoolExecutor(4) as pool:  # 100 malformed requests, then a correct answer
        statuses = list(pool.map(lambda i: _post(url, infer, b"{" * (i + 1))[0], range(100)))
    assert statuses == [400] * 100
    client = httpclient.InferenceServerClient(url=url)
    x = np.full((1, 1, 16, 16), 0.25, np.float32)
    tensor = httpclient.InferInput("x", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x)
    np.testing.assert_allclose(
        client.infer(NAME, [tensor]).as_numpy("logits"), _reference(model, x), rtol=1e-5, atol=1e-5
    )


def test_a_killed_replica_is_restarted_and_requests_recover(server, model: Path) -> None:
    """Kill one of the two replicas under load: every request gets an answer or a
    retryable 5xx, none hangs past the client's timeout, Ray starts a new replica,
    and afterwards at least 95% succeed."""
    from tritonclient.utils import InferenceServerException

    proc, url, _ = server
    before = _replicas(proc.pid)
    assert len(before) == 2, [_cmdline(p) for p in _descendants(proc.pid)]
    x = np.full((1, 1, 16, 16), 0.5, np.float32)
    expected = _reference(model, x)
    results: list[tuple[float, float, int]] = []  # (sent, seconds, status)
    stop = threading.Event()

    def worker() -> None:
        client = httpclient.InferenceServerClient(url=url, network_timeout=15)
        tensor = httpclient.InferInput("x", list(x.shape), "FP32")
        tensor.set_data_from_numpy(x)
        while not stop.is_set():
            sent = time.monotonic()
            try:
                out = client.infer(NAME, [tensor]).as_numpy("logits")
                status = 200 if np.allclose(out, expected, rtol=1e-5, atol=1e-5) else -1
            except InferenceServerException as exc:
                status = int(exc.status() or 0)
            results.append((sent, time.monotonic() - sent, status))

    workers = [threading.Thread(target=worker) for _ in range(3)]
    for w in workers:
        w.start()
    try:
        time.sleep(1.0)
        victim = sorted(before)[0]
        os.kill(victim, signal.SIGKILL)
        killed = time.monotonic()
        deadline = killed + 120  # a hang guard: 12 s unloaded, 29 s at load average 10
        while time.monotonic() < deadline:
            now = _replicas(proc.pid)
            if len(now) == 2 and victim not in now:
                break
            time.sleep(0.2)
        recovered = time.monotonic()
        assert victim not in _replicas(proc.pid) and len(_replicas(proc.pid)) == 2
        client = httpclient.InferenceServerClient(url=url)
        while not client.is_server_ready() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(2.0)
    finally:
        stop.set()
        for w in workers:
            w.join(30)
    statuses = [s for _, _, s in results]
    assert all(s == 200 or 500 <= s < 600 for s in statuses), sorted(set(statuses))
    assert max(seconds for _, seconds, _ in results) < 15  # none hangs past its timeout
    after = [s for sent, _, s in results if sent > recovered]
    assert len(after) >= 5 and after.count(200) >= 0.95 * len(after)
    print(
        f"replica kill: {len(statuses)} requests, {statuses.count(200)} ok, "
        f"{len(statuses) - statuses.count(200)} 5xx; new replica after {recovered - killed:.1f} s; "
        f"after recovery {after.count(200)}/{len(after)} ok"
    )


def test_sigterm_exits_0_and_leaves_no_ray_process(server) -> None:
    from linkedonnx.deploy.serve import DRIVER_MESSAGES

    proc, _, logs = server
    below = _descendants(proc.pid)
    assert below  # Ray's processes (gcs_server, raylet, workers) run below the command
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(30)
    took = time.monotonic() - start
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert code == 0, proc.stderr.read()
    assert took < 30
    assert [p for p in below if _alive(p)] == []
    assert proc.stderr.read() == ""
    assert proc.stdout.read() == ""  # the ready line only: Ray's driver messages went to a file
    assert (logs / DRIVER_MESSAGES).is_file()


def test_without_ray_it_exits_2_with_the_pip_command(monkeypatch, capsys, model: Path) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)
    code, _, err = run_cli(capsys, "serve", str(model))
    assert code == 2 and "pip install 'linkedonnx[serve]'" in err


def test_a_port_in_use_exits_2(capsys, model: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run_cli(capsys, "serve", str(model), "--port", str(port))
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in err


def _call(replica, method: str, path: str, body: bytes = b"") -> tuple[int, dict]:
    from starlette.requests import Request

    async def receive() -> dict:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {"type": "http", "method": method, "path": path, "headers": [], "query_string": b""}
    response = asyncio.run(replica(Request(scope, receive)))
    return response.status_code, json.loads(response.body)


def test_the_replica_answers_503_while_warming_and_504_past_the_timeout(model: Path) -> None:
    from linkedonnx.deploy.serve import OipModel, ServeOptions

    replica = OipModel(model.read_bytes(), ServeOptions(NAME, max_batch_size=2, timeout_s=0.05))

    async def stuck(x: np.ndarray) -> dict:  # @serve.batch needs a Ray replica; a stuck batch
        await asyncio.sleep(5)
        return {}

    replica.batched = stuck
    infer = f"/v2/models/{NAME}/infer"
    status, body = _call(replica, "POST", infer, _request())
    assert status == 504 and "--timeout" in body["error"]
    replica.ready = False
    assert _call(replica, "GET", "/v2/health/ready")[0] == 503
    assert _call(replica, "POST", infer, _request())[0] == 503
    assert _call(replica, "GET", "/v2/health/live")[0] == 200


def test_a_replica_larger_than_the_local_ray_is_refused_before_ray_starts(
    capsys, model: Path
) -> None:
    from linkedonnx.deploy.serve import ServeOptions, check_fits
    from linkedonnx.errors import BadInputError

    check_fits(ServeOptions(NAME, threads=2), 2)
    with pytest.raises(BadInputError, match="asks Ray for 3 CPUs"):
        check_fits(ServeOptions(NAME, threads=3), 2)
    threads = str((os.cpu_count() or 1) + 1)
    code, _, err = run_cli(capsys, "serve", str(model), "--port", "0", "--threads", threads)
    assert code == 2 and f"asks Ray for {threads} CPUs" in err


def test_more_replicas_than_the_local_ray_has_cpus_are_refused() -> None:
    from linkedonnx.deploy.serve import ServeOptions, check_fits
    from linkedonnx.errors import BadInputError

    check_fits(ServeOptions(NAME, replicas=2, threads=1), 2)
    with pytest.raises(BadInputError, match="3 replicas ask Ray for 1 CPU each"):
        check_fits(ServeOptions(NAME, replicas=3, threads=1), 2)
    with pytest.raises(BadInputError, match="2 replicas ask Ray for 2 CPUs each"):
        check_fits(ServeOptions(NAME, replicas=2, threads=2), 3)


class _FakeStatus:
    """serve.status() of an application that is still deploying with ``message``."""

    def __init__(self, message: str) -> None:
        from types import SimpleNamespace

        deployment = SimpleNamespace(message=message)
        app = SimpleNamespace(status="DEPLOYING", message="", deployments={NAME: deployment})
        self.value = SimpleNamespace(applications={NAME: app})

    def __call__(self):
        return self.value


@pytest.mark.parametrize(
    ("message", "limit"),
    [
        ("Deployment 'digits' has 1 replicas that have taken more than 30s to be scheduled.",
         "not running after 0.2 s: Deployment"),
        ("Deployment 'digits' has 1 replicas that have taken more than 30s to initialize.",
         "not running after 0.6 s (DEPLOYING)"),
    ],
)  # fmt: skip
def test_unscheduled_replicas_fail_at_the_schedule_limit_and_slow_ones_may_start(
    monkeypatch, message: str, limit: str
) -> None:
    from linkedonnx.deploy import serve as serve_module
    from linkedonnx.errors import BadInputError

    monkeypatch.setattr(serve_module, "SCHEDULE_TIMEOUT_S", 0.2)
    monkeypatch.setattr(serve_module, "START_TIMEOUT_S", 0.6)
    monkeypatch.setattr(serve_module.serve, "status", _FakeStatus(message))
    began = time.monotonic()
    with pytest.raises(BadInputError, match=limit.replace("(", r"\(").replace(")", r"\)")):
        serve_module._wait_running(NAME)
    took = time.monotonic() - began
    assert (0.2 <= took < 0.6) if "scheduled" in message else took >= 0.6


def test_ray_driver_messages_go_to_the_log_folder(tmp_path: Path, capsys) -> None:
    from linkedonnx.deploy.serve import DRIVER_MESSAGES, ray_messages_to

    with ray_messages_to(tmp_path) as stdout:
        print("(raylet) Task ServeController.graceful_shutdown failed")
        print("serving", file=stdout)
    with ray_messages_to(None) as stdout:
        print("(raylet) a cluster message")
    out, err = capsys.readouterr()
    assert out == "serving\n"
    assert err == "(raylet) a cluster message\n"
    assert "graceful_shutdown" in (tmp_path / DRIVER_MESSAGES).read_text()


def test_wait_reachable_gives_up_with_one_line_when_nothing_answers() -> None:
    from linkedonnx.deploy.serve import free_port, wait_reachable

    port = free_port("127.0.0.1")
    start = time.monotonic()
    with pytest.raises(BadInputError, match=f"127.0.0.1:{port} did not answer ready"):
        wait_reachable("127.0.0.1", port, NAME, timeout_s=0.3)
    assert time.monotonic() - start < 10


def test_haproxy_files_go_to_a_short_folder_that_stop_removes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from linkedonnx.deploy import serve

    for key in (
        *serve.RAY_SERVE_INGRESS,
        *serve.HAPROXY_FILES,
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE",
    ):
        monkeypatch.delenv(key, raising=False)
    short = Path(tempfile.mkdtemp(prefix="lo-t-", dir="/tmp"))
    try:
        serve.ingress_environment(short)
        assert os.environ["RAY_SERVE_HAPROXY_SERVER_STATE_BASE"] == str(
            short / serve.HAPROXY_FOLDER
        )
    finally:
        shutil.rmtree(short)
    deep = tmp_path / ("d" * 40)
    serve.ingress_environment(deep)
    folder = Path(os.environ["RAY_SERVE_HAPROXY_SERVER_STATE_BASE"])
    assert folder.name.startswith(serve.HAPROXY_TEMP_PREFIX) and folder.is_dir()
    assert len(str(folder)) <= serve.HAPROXY_FOLDER_MAX
    assert os.environ["RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH"] == str(folder / "metrics.sock")
    assert os.environ["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    ports = {int(os.environ[key]) for key in serve.HAPROXY_PORTS}
    assert len(ports) == 2 and not ports & {8404, 9101}  # not Ray's fixed defaults
    serve.stop_haproxy(str(folder))
    assert not folder.exists()
