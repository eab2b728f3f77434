"""``linkedonnx serve``: an ONNX classifier on Ray Serve, speaking the Open Inference
Protocol REST API (health, model metadata, infer with JSON or binary tensors) so that
an unmodified ``tritonclient.http`` client works. Each replica holds one
:class:`~linkedonnx.deploy.predictor.Predictor` and batches concurrent requests with
``@serve.batch``. Imports ray: only the serve command loads this module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import onnx
from ray import serve
from starlette.requests import Request
from starlette.responses import Response

from linkedonnx.deploy.oip import (
    HEADER_LENGTH,
    ProtocolError,
    TensorSpec,
    check_inputs,
    encode_response,
    parse_request,
)
from linkedonnx.errors import BadInputError, first_line

#: Seconds after which a deployment whose replicas Ray Serve still reports as waiting
#: to be scheduled (no node has their CPUs free) makes ``serve`` give up (exit 2).
SCHEDULE_TIMEOUT_S = 60.0

#: Seconds placed replicas may take to start and warm up before ``serve`` gives up.
#: Longer than the schedule limit: on a loaded machine each Ray worker process takes
#: 20 s to start (measured on 2 cores beside two busy processes), and that is progress.
START_TIMEOUT_S = 300.0

#: Ray Serve's deployment message for replicas that are not yet placed on a node.
UNSCHEDULED = "to be scheduled"

#: Ray Serve's proxy checks, loosened for a loaded machine. With Ray's defaults (5 s
#: to become ready, 10 s per health check) a proxy whose worker process is still
#: starting on 2 busy cores is killed before it runs, and ``serve.start`` fails with
#: "The actor died unexpectedly" (measured: always, beside two busy processes). A
#: value already in the environment wins.
RAY_SERVE_TOLERANCES = {
    "RAY_SERVE_PROXY_READY_CHECK_TIMEOUT_S": "30",
    "RAY_SERVE_PROXY_HEALTH_CHECK_TIMEOUT_S": "30",
}

#: Ray Serve's ingress for a local Ray: HAProxy in front of replicas that listen for
#: HTTP themselves ("direct ingress"), instead of Ray's Python HTTP proxy relaying
#: each request to a replica as an actor call. Measured on 2 cores with a replica that
#: answers without work: 0.6-1.2 ms of CPU per request in all (HAProxy 0.1-0.2 ms)
#: against 13-15 ms through the Python proxy (proxy 7 ms, replica 6 ms), where the
#: proxy path bounded ``serve`` near 90 requests/s. The replicas drain for no extra
#: time on stop (Ray's 30 s default would hold up the stop). A value already in the
#: environment wins.
RAY_SERVE_INGRESS = {
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_DIRECT_INGRESS_MIN_DRAINING_PERIOD_S": "0",
}

#: Subfolder of the local Ray folder for HAProxy's config, sockets and logs (Ray's
#: defaults under /tmp/haproxy-serve would be shared by every local server).
HAPROXY_FOLDER = "hap"

#: Ray Serve's settings for HAProxy's files, by file name in the HAProxy folder.
HAPROXY_FILES = {
    "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": "haproxy.cfg",
    "RAY_SERVE_HAPROXY_SOCKET_PATH": "admin.sock",
    "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": "server-state",
    "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": "metrics.sock",
}

#: Ray Serve's settings for HAProxy's own ports (its Prometheus metrics and its stats
#: page, on every interface). Their fixed defaults (9101, 8404) would let only one
#: local server run on a machine: each ``serve`` takes free ones.
HAPROXY_PORTS = ("RAY_SERVE_HAPROXY_METRICS_PORT", "RAY_SERVE_HAPROXY_STATS_PORT")

#: The longest HAProxy folder path: Ray Serve puts the sockets in a 56-character
#: subfolder of it, and HAProxy refuses a socket path over 97 characters (measured:
#: "socket path ... too long (max 97)", and Serve does not start).
HAPROXY_FOLDER_MAX = 97 - 58 - len("metrics.sock")

#: Name prefix of the short temporary HAProxy folder used when the Ray folder's path
#: is too long; :func:`stop_haproxy` removes it.
HAPROXY_TEMP_PREFIX = "lo-hap-"

#: Seconds the stop waits for Serve's own shutdown before shutting Ray down. Serve
#: waits up to 30 s for its controller, which cannot answer when a whole process group
#: got SIGTERM (``timeout``, systemd's default control-group stop): Ray's workers died
#: with the command (measured: 38 s to exit, and Serve's warning on stderr). A normal
#: Serve shutdown takes 2-5 s here.
SERVE_SHUTDOWN_WAIT_S = 15.0

#: The HAProxy sweep on stop ends once no HAProxy has shown up for this many seconds,
#: and after :data:`HAPROXY_SWEEP_S` at most.
HAPROXY_QUIET_S = 1.0
HAPROXY_SWEEP_S = 5.0

#: File in the log folder that receives the Ray driver's messages (see
#: :func:`ray_messages_to`).
DRIVER_MESSAGES = "driver-messages.log"


@dataclass(frozen=True)
class ServeOptions:
    """How the model is served: its ``name``, ``replicas``, ORT ``threads`` (and Ray
    CPUs) per replica, ``max_batch_size`` requests per batch, ``batch_wait_ms`` to
    fill one, the per-request ``timeout_s`` (504 past it), ``max_request_mb`` (413
    above it), the ``provider`` (cpu, cuda, openvino) and OpenVINO's ``precision`` and
    compiled-model ``cache_dir`` (shared by the replicas)."""

    name: str
    replicas: int = 1
    threads: int = 1
    max_batch_size: int = 16
    batch_wait_ms: float = 5.0
    timeout_s: float = 30.0
    max_request_mb: float = 64.0
    provider: str = "cpu"
    precision: str = "f32"
    cache_dir: str | None = None

    def check(self) -> None:
        """Raise BadInputError for a value out of range."""
        if not self.name or "/" in self.name:
            raise BadInputError(f"--name must be a non-empty name without '/', got {self.name!r}")
        for flag, value in (("--replicas", self.replicas), ("--threads", self.threads),
                            ("--max-batch-size", self.max_batch_size)):  # fmt: skip
            if value < 1:
                raise BadInputError(f"{flag} must be at least 1, got {value}")
        for flag, number in (("--batch-wait-ms", self.batch_wait_ms), ("--timeout", self.timeout_s),
                             ("--max-request-mb", self.max_request_mb)):  # fmt: skip
            if not (np.isfinite(number) and number >= 0) or (
                flag != "--batch-wait-ms" and number == 0
            ):
                raise BadInputError(f"{flag} must be a positive number, got {number}")


#: OIP datatype of each ONNX element type (TensorProto codes).
ONNX_TO_DATATYPE = {1: "FP32", 10: "FP16", 11: "FP64", 7: "INT64", 6: "INT32", 2: "UINT8",
                    3: "INT8", 9: "BOOL"}  # fmt: skip


def _json(status: int, payload: dict) -> Response:
    return Response(json.dumps(payload), status_code=status, media_type="application/json")


class OipModel:
    """One replica: the Predictor, the model's OIP metadata, and the HTTP handler."""

    def __init__(self, model: bytes, options: ServeOptions) -> None:

        from linkedonnx.deploy.predictor import Predictor

        self.options = options
        self.ready = False
        self.predictor = Predictor(
            onnx.load_from_string(model),
            options.provider,
            options.threads,
            options.precision,
            options.cache_dir,
        )
        sig = self.predictor.input
        self.input = TensorSpec(
            sig.name, "FP32", tuple(d if isinstance(d, int) else -1 for d in sig.dims)
        )
        self.outputs = [
            TensorSpec(
                name,
                ONNX_TO_DATATYPE.get(elem_type, str(elem_type)),
                tuple(d if isinstance(d, int) else -1 for d in dims),
            )
            for name, elem_type, dims in self.predictor.outputs
        ]
        self.output_names = [o.name for o in self.outputs]
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="ort")  # one ORT run at a time
        self.batched.set_max_batch_size(options.max_batch_size)
        self.batched.set_batch_wait_timeout_s(options.batch_wait_ms / 1000.0)
        shape = [1 if d < 0 else d for d in self.input.shape]
        for size in range(1, options.max_batch_size + 1):  # warm-up: every batch size once
            self._run(np.zeros((size, *shape[1:]), np.float32))
        self.ready = True

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.predictor.runner.run({self.input.name: x}, self.output_names)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.005)
    async def batched(self, arrays: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
        """Run the requests' arrays as one batch; each gets its own rows back."""
        x = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        outs = await asyncio.get_running_loop().run_in_executor(self.pool, self._run, x)
        results, start = [], 0
        for a in arrays:
            results.append(
                {n: o[start : start + len(a)] for n, o in zip(self.output_names, outs, strict=True)}
            )
            start += len(a)
        return results

    def metadata(self) -> dict:
        """The model metadata (GET /v2/models/NAME)."""
        return {
            "name": self.options.name,
            "versions": ["1"],
            "platform": "onnxruntime_onnx",
            "inputs": [self.input.to_dict()],
            "outputs": [o.to_dict() for o in self.outputs],
            "parameters": {"raw_input": "UINT8 NHWC images get the recorded preprocessing"},
        }

    async def __call__(self, request: Request) -> Response:
        """Route one HTTP request; protocol errors become JSON bodies with their status."""
        try:
            return await self._route(request)
        except ProtocolError as exc:
            return Response(exc.body(), status_code=exc.status, media_type="application/json")

    async def _route(self, request: Request) -> Response:
        parts = [p for p in request.url.path.split("/") if p]
        method = request.method
        if parts[:1] != ["v2"]:
            raise ProtocolError(404, f"no such endpoint {request.url.path}")
        if parts == ["v2", "health", "live"]:
            return _json(200, {"live": True})
        if parts == ["v2", "health", "ready"]:
            return _json(200 if self.ready else 503, {"ready": self.ready})
        if parts == ["v2"]:
            return _json(200, {"name": "linkedonnx", "extensions": ["binary_tensor_data"]})
        if len(parts) < 3 or parts[1] != "models":
            raise ProtocolError(404, f"no such endpoint {request.url.path}")
        if parts[2] != self.options.name:
            raise ProtocolError(
                404, f"unknown model {parts[2]!r}; this server has {self.options.name!r}"
            )
        rest = parts[3:]
        if rest[:2] == ["versions", "1"]:
            rest = rest[2:]
        elif rest[:1] == ["versions"]:
            raise ProtocolError(404, f"model {self.options.name!r} has version 1 only")
        if not rest and method == "GET":
            return _json(200, self.metadata())
        if rest == ["ready"] and method == "GET":
            return _json(200 if self.ready else 503, {"ready": self.ready})
        if rest == ["infer"] and method == "POST":
            return await self._infer(request)
        raise ProtocolError(404, f"no such endpoint {method} {request.url.path}")

    async def _infer(self, request: Request) -> Response:
        if not self.ready:
            raise ProtocolError(503, "the model is warming up")
        limit = int(self.options.max_request_mb * 1024 * 1024)
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise ProtocolError(
                413, f"the body has {declared} bytes; --max-request-mb allows {limit}"
            )
        body = await request.body()
        if len(body) > limit:
            raise ProtocolError(
                413, f"the body has {len(body)} bytes; --max-request-mb allows {limit}"
            )
        parsed = parse_request(body, request.headers.get(HEADER_LENGTH))
        array, datatype = check_inputs(parsed.inputs, self.input, ("FP32", "UINT8"))
        if datatype == "UINT8":
            try:
                array = self.predictor.prepare(array, layout="NHWC")
            except BadInputError as exc:
                raise ProtocolError(400, f"input {self.input.name!r}: {first_line(exc)}") from None
        try:
            results = await asyncio.wait_for(self.batched(array), self.options.timeout_s)
        except TimeoutError:
            raise ProtocolError(
                504, f"no answer within --timeout {self.options.timeout_s:g} s"
            ) from None
        answer = encode_response(self.options.name, results, parsed)
        return Response(answer.body, headers=answer.headers)


def free_port(host: str) -> int:
    """A port on ``host`` that is free now (bound to 0 and released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def check_port(host: str, port: int) -> None:
    """Raise BadInputError when ``host``:``port`` cannot be bound (in use, or not ours)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            raise BadInputError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


@dataclass
class Server:
    """A running deployment: its ``url``; :meth:`stop` removes it (and the local Ray)."""

    url: str
    name: str
    local: bool

    def stop(self) -> None:
        """Delete the application; with a local Ray, shut Serve and Ray down."""
        stop_ray(self.name, self.local)


def stop_ray(name: str, local: bool) -> None:
    """Remove application ``name`` (a shared cluster) or shut Serve and the local Ray
    down; never raises."""
    import ray

    shutdown = threading.Thread(
        target=_quietly, args=(serve.shutdown if local else lambda: serve.delete(name),),
        name="serve-shutdown", daemon=True,
    )  # fmt: skip
    shutdown.start()
    shutdown.join(SERVE_SHUTDOWN_WAIT_S)  # past it, ray.shutdown() stops what is left
    if ray.is_initialized():
        with contextlib.suppress(Exception):
            ray.shutdown()
    if local:
        stop_haproxy(os.environ.get("RAY_SERVE_HAPROXY_SERVER_STATE_BASE"))


def _quietly(action: Callable[[], object]) -> None:
    """Call ``action``; swallow any exception (a stop must never raise)."""
    with contextlib.suppress(Exception):
        action()


def _kill_haproxies(mark: bytes) -> int:
    """SIGKILL every HAProxy process with an argument under the folder ``mark`` (a path
    ending in a separator); return how many were found."""
    found = 0
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else ():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if args and args[0].endswith(b"haproxy") and any(a.startswith(mark) for a in args):
            found += 1
            with contextlib.suppress(OSError):
                os.kill(int(entry.name), signal.SIGKILL)
    return found


def stop_haproxy(folder: str | None) -> None:
    """Kill the HAProxy processes whose files lie in ``folder`` (a local Ray's HAProxy
    folder; None: none) and remove the folder when it is a temporary one. Ray Serve
    2.60 leaves its HAProxy running after Serve and Ray shut down (measured: always),
    and a controller that Ray was restarting while it shut down can start one more a
    moment later (measured after a process group's SIGTERM); so the sweep repeats until
    none has shown up for :data:`HAPROXY_QUIET_S` (at most :data:`HAPROXY_SWEEP_S`).
    Never raises."""
    if not folder:
        return
    mark = os.path.join(folder, "").encode()
    began = last_seen = time.monotonic()
    while True:
        if _kill_haproxies(mark):
            last_seen = time.monotonic()
        now = time.monotonic()
        if now - last_seen >= HAPROXY_QUIET_S or now - began >= HAPROXY_SWEEP_S:
            break
        time.sleep(0.1)
    if Path(folder).name.startswith(HAPROXY_TEMP_PREFIX):
        shutil.rmtree(folder, ignore_errors=True)


def check_model(model: onnx.ModelProto, options: ServeOptions) -> None:
    """Raise BadInputError when ``model`` cannot be served with ``options``: it does not
    load in a Predictor, or its batch axis is fixed."""
    from linkedonnx.deploy.predictor import Predictor

    probe = Predictor(
        model, options.provider, options.threads, options.precision, options.cache_dir
    )
    if probe.fixed_batch is not None:
        raise BadInputError(
            f"the model's batch axis is fixed at {probe.fixed_batch}; serve batches requests, "
            "so export it with a dynamic batch"
        )


def connect(
    *,
    host: str,
    port: int,
    address: str | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    cpus: int | None = None,
) -> None:
    """Start Ray (a local one with ``cpus`` CPUs logging to ``log_dir`` when ``address``
    is None, else join that cluster) and Serve's HTTP proxy on ``host``:``port``. The
    process keeps its own SIGTERM/SIGINT handlers (Ray's would crash it)."""
    import ray

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    for key, value in RAY_SERVE_TOLERANCES.items():  # inherited by the local Ray's processes
        os.environ.setdefault(key, value)
    init: dict = {"logging_level": logging.ERROR, "log_to_driver": False}
    if address is None:
        folder = ray_log_folder(log_dir, address)
        ingress_environment(folder)
        init.update(address="local", num_cpus=cpus or os.cpu_count() or 1,
                    include_dashboard=False, _temp_dir=str(folder.resolve()))  # fmt: skip
    else:
        init.update(address=address)
    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGINT)}
    ray.init(**init)
    for sig, handler in handlers.items():
        if handler is not None:
            signal.signal(sig, handler)
    logging.getLogger("ray.serve").setLevel(logging.WARNING)
    serve.start(
        http_options={"host": host, "port": port},
        logging_config={"log_level": "WARNING", "enable_access_log": False},
    )


def ingress_environment(folder: Path) -> None:
    """Set the environment a local Ray inherits for Ray Serve's HAProxy ingress
    (:data:`RAY_SERVE_INGRESS`, unless already set), free ports for HAProxy's metrics
    and stats (:data:`HAPROXY_PORTS`) and HAProxy's files: in
    ``folder``/:data:`HAPROXY_FOLDER` (created), or in a new temporary folder under
    /tmp when that path is longer than :data:`HAPROXY_FOLDER_MAX`."""
    haproxy = (folder / HAPROXY_FOLDER).resolve()
    if len(str(haproxy)) > HAPROXY_FOLDER_MAX:
        haproxy = Path(tempfile.mkdtemp(prefix=HAPROXY_TEMP_PREFIX, dir="/tmp"))
    haproxy.mkdir(parents=True, exist_ok=True)
    for key, value in RAY_SERVE_INGRESS.items():
        os.environ.setdefault(key, value)
    os.environ["RAY_SERVE_HAPROXY_SERVER_STATE_BASE"] = str(haproxy)
    for key, name in HAPROXY_FILES.items():  # this Ray's own, even when an earlier one set them
        os.environ[key] = str(haproxy / name)
    for key in HAPROXY_PORTS:
        os.environ[key] = str(free_port(""))


def ray_log_folder(log_dir: str | os.PathLike[str] | None, address: str | None) -> Path | None:
    """The folder a local Ray logs to: ``log_dir`` (created) or a new temporary folder
    with a short name (Ray's socket paths must fit); None when joining the cluster at
    ``address``, which keeps its own logs."""
    if address is not None:
        return None
    folder = Path(log_dir) if log_dir else Path(tempfile.mkdtemp(prefix="lo-ray-"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def ray_messages_to(folder: str | os.PathLike[str] | None) -> Iterator[TextIO]:
    """Keep the Ray driver's messages off standard output for the block, and yield the
    real standard output. Ray's driver prints the cluster's error messages (a retried
    task, a killed actor) to ``sys.stdout`` whatever ``log_to_driver`` says, so they
    would come before or between a command's own lines. They go to
    ``folder``/:data:`DRIVER_MESSAGES`, or to standard error when ``folder`` is None."""
    real = sys.stdout
    if folder is None:
        with contextlib.redirect_stdout(sys.stderr):
            yield real
        return
    with (
        open(Path(folder) / DRIVER_MESSAGES, "a", encoding="utf-8") as sink,
        contextlib.redirect_stdout(sink),
    ):
        yield real


def check_fits(options: ServeOptions, cpus: float) -> None:
    """Raise BadInputError when the replicas ask for more CPUs (``options.threads``
    each) than the local Ray will have (``cpus``): such a deployment could never be
    scheduled, so it is refused before Ray starts."""
    if options.threads > cpus:
        raise BadInputError(
            f"each replica asks Ray for {options.threads} CPUs (--threads) but the local Ray "
            f"has {cpus:g}; lower --threads"
        )
    if options.replicas * options.threads > cpus:
        raise BadInputError(
            f"{options.replicas} replicas ask Ray for {options.threads} CPU"
            f"{'s' if options.threads > 1 else ''} each (--threads) but the local Ray has "
            f"{cpus:g}; lower --replicas or --threads"
        )


def deploy(model: onnx.ModelProto, options: ServeOptions) -> None:
    """Run ``model`` as the Serve application ``options.name`` (route prefix /) and
    return once it runs (every replica warmed up). Raises BadInputError when it fails
    or does not run within :data:`SCHEDULE_TIMEOUT_S`."""
    app = serve.deployment(
        name=options.name,
        num_replicas=options.replicas,
        ray_actor_options={
            "num_cpus": options.threads,
            "num_gpus": 1 if options.provider == "cuda" else 0,
        },
        max_ongoing_requests=max(64, 4 * options.max_batch_size),
        graceful_shutdown_timeout_s=2,
        graceful_shutdown_wait_loop_s=0.5,
    )(OipModel).bind(model.SerializeToString(), options)
    serve._run(app, _blocking=False, name=options.name, route_prefix="/")
    _wait_running(options.name)


def start(
    model_path: str | os.PathLike[str],
    options: ServeOptions,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    address: str | None = None,
    log_dir: str | os.PathLike[str] | None = None,
    cpus: int | None = None,
) -> Server:
    """Serve the ONNX model at ``model_path`` and return once every replica has warmed
    up. ``port`` 0 picks a free port; ``address`` joins a Ray cluster (None: start a
    local Ray with ``cpus`` CPUs, default all, logging to ``log_dir``). Raises
    BadInputError for a bad model or option, a port in use, or a deployment that is
    not running within :data:`SCHEDULE_TIMEOUT_S` (nothing is left running then)."""
    from linkedonnx.onnx_io import load_model

    options.check()
    port = free_port(host) if port == 0 else port
    check_port(host, port)
    model = load_model(model_path)
    check_model(model, options)
    local = address is None
    if local:
        check_fits(options, cpus or os.cpu_count() or 1)
    try:
        connect(host=host, port=port, address=address, log_dir=log_dir, cpus=cpus)
        deploy(model, options)
        wait_reachable(host, port, options.name)
    except BaseException as exc:
        stop_ray(options.name, local)
        if isinstance(exc, Exception) and not isinstance(exc, BadInputError):
            raise BadInputError(f"Ray Serve could not start: {first_line(exc)}") from None
        raise
    return Server(f"http://{host}:{port}", options.name, local)


def wait_reachable(host: str, port: int, name: str, timeout_s: float = SCHEDULE_TIMEOUT_S) -> None:
    """Wait until ``GET /v2/models/NAME/ready`` on ``host``:``port`` answers 200: the
    ingress (HAProxy) routes to a warmed-up replica, which can follow the application's
    RUNNING status by a moment. Raise BadInputError after ``timeout_s``."""
    import http.client

    target = "127.0.0.1" if host in ("0.0.0.0", "") else host
    began, last = time.monotonic(), "no answer"
    while time.monotonic() - began < timeout_s:
        conn = http.client.HTTPConnection(target, port, timeout=5)
        try:
            conn.request("GET", f"/v2/models/{name}/ready")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
            last = f"HTTP {response.status}"
        except OSError as exc:
            last = first_line(exc) or type(exc).__name__
        finally:
            conn.close()
        time.sleep(0.1)
    raise BadInputError(
        f"the deployment runs but {target}:{port} did not answer ready within {timeout_s:g} s "
        f"({last})"
    )


def _wait_running(name: str) -> None:
    """Wait until application ``name`` runs. Raise BadInputError when it fails, when
    Ray Serve still reports replicas waiting to be scheduled after
    :data:`SCHEDULE_TIMEOUT_S`, or when it is not running after :data:`START_TIMEOUT_S`
    (replicas that were placed but start slowly, as on a loaded machine)."""
    began = time.monotonic()
    status, message = None, ""
    while time.monotonic() - began < START_TIMEOUT_S:
        app = serve.status().applications.get(name)
        status = app.status if app else None
        if status == "RUNNING":
            return
        if status == "DEPLOY_FAILED":
            raise BadInputError(f"the deployment failed: {first_line(app.message or 'no message')}")
        message = _deployment_message(app)
        if time.monotonic() - began > SCHEDULE_TIMEOUT_S and UNSCHEDULED in message:
            raise BadInputError(
                f"the deployment is not running after {SCHEDULE_TIMEOUT_S:g} s: {message}"
            )
        time.sleep(0.25)
    raise BadInputError(
        f"the deployment is not running after {START_TIMEOUT_S:g} s ({status}): "
        f"{message or 'its replicas did not start'}"
    )


def _deployment_message(app) -> str:
    """The first line of the first deployment message of ``app`` (a Serve
    ApplicationStatusOverview or None), else of its own message; "" when none."""
    if app is None:
        return ""
    details = [d.message for d in app.deployments.values() if d.message]
    return first_line(details[0]) if details else first_line(app.message or "")
