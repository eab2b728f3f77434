"""Serving path benchmark: CPU time per request, by process, on `linkedonnx serve`'s
request path (issue 24, item 4), to find what bounds bench_serve.

One local Ray as `serve` starts it (HAProxy ingress; ``--python-proxy``: Ray Serve's
Python HTTP proxy instead) serves, one at a time, a no-op replica (it reads the body
and returns a fixed OIP response) and the OIP replica with --model. Clients, each for
--requests one-image binary requests: ``raw`` (http.client, one keep-alive
connection, one request at a time: the cheapest client), ``gevent8``
(tritonclient.http's async_infer, 8 in flight: the earlier bench_serve load
generator) and ``aio1`` / ``aio32`` (tritonclient.http.aio, 1 or 32 coroutines).
Figures per row: requests/s and the CPU milliseconds per request of each process
below this one (HAProxy, Ray's proxy actor, the replica, the Serve controller,
gcs_server, raylet, other Ray workers) and of this process (the client), from
utime+stime before and after. The load shares the machine's cores with the server.

Usage:
    python benchmarks/serve_path.py --model allcnn-f32.onnx
    python benchmarks/serve_path.py --model allcnn-f32.onnx --python-proxy
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

DEFAULT_OUT = Path(__file__).resolve().parent / "results" / "serve_path.json"
CLIENTS = ("raw", "gevent8", "aio1", "aio32")


def _label(name: str, cmdline: str) -> str:
    """The row name of one process below this one."""
    title = name if name.startswith("ray::") else cmdline
    if "ServeReplica" in title:
        return "replica"
    if "ProxyActor" in title or "HAProxyManager" in title:
        return "proxy actor"
    if "ServeController" in title:
        return "controller"
    for known in ("haproxy", "gcs_server", "raylet"):
        if known in name:
            return known
    return "other ray"


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """(label, CPU seconds) of this process ("client") and of every process below it."""
    import psutil

    me = psutil.Process()
    found = {}
    for proc in [me, *me.children(recursive=True)]:
        try:
            label = (
                "client" if proc.pid == me.pid else _label(proc.name(), " ".join(proc.cmdline()))
            )
            times = proc.cpu_times()
        except psutil.Error:
            continue
        found[proc.pid] = (label, times.user + times.system)
    return found


def measure(case: str, client: Callable[[int], None], requests: int) -> dict[str, Any]:
    """Run ``client`` for ``requests`` requests; requests/s and CPU ms per request by
    process label (processes present before and after)."""
    before = cpu_by_process()
    start = time.perf_counter()
    client(requests)
    wall = time.perf_counter() - start
    after = cpu_by_process()
    per: dict[str, float] = {}
    for pid, (label, seconds) in after.items():
        if pid in before:
            per[label] = per.get(label, 0.0) + (seconds - before[pid][1]) * 1e3 / requests
    row = {"case": case, "requests": requests, "requests_per_s": round(requests / wall, 1),
           "cpu_ms": {k: round(v, 3) for k, v in sorted(per.items())},
           "cpu_ms_total": round(sum(per.values()), 3)}  # fmt: skip
    print(json.dumps(row), flush=True)
    return row


def binary_request(input_name: str, image) -> tuple[bytes, int]:
    """An OIP request body with ``image`` as a binary tensor, and its JSON length."""
    raw = image.tobytes()
    header = json.dumps({"inputs": [{"name": input_name, "shape": list(image.shape), "datatype": "FP32",
                                     "parameters": {"binary_data_size": len(raw)}}],
                         "parameters": {"binary_data_output": True}}).encode()  # fmt: skip
    return header + raw, len(header)


def raw_client(port: int, path: str, body: bytes, header_length: int, requests: int) -> None:
    """``requests`` POSTs, one at a time, over one keep-alive connection."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Inference-Header-Content-Length": str(header_length),
               "Content-Type": "application/octet-stream"}  # fmt: skip
    for _ in range(requests):
        conn.request("POST", path, body, headers)
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"HTTP {response.status} from {path}")
    conn.close()


def gevent_client(
    url: str, name: str, input_name: str, image, requests: int, inflight: int
) -> None:
    """tritonclient.http's async_infer with ``inflight`` requests outstanding."""
    import tritonclient.http as httpclient

    client = httpclient.InferenceServerClient(url=url, concurrency=inflight, network_timeout=60)
    tensor = httpclient.InferInput(input_name, list(image.shape), "FP32")
    tensor.set_data_from_numpy(image, binary_data=True)
    pending: deque = deque()
    issued = 0
    while pending or issued < requests:
        while len(pending) < inflight and issued < requests:
            pending.append(client.async_infer(name, [tensor]))
            issued += 1
        pending.popleft().get_result()
    client.close()


def aio_client(url: str, name: str, input_name: str, image, requests: int, inflight: int) -> None:
    """tritonclient.http.aio with ``inflight`` coroutines."""
    import tritonclient.http as httpclient
    import tritonclient.http.aio as aioclient

    async def main() -> None:
        client = aioclient.InferenceServerClient(url=url, conn_limit=inflight, conn_timeout=60)
        tensor = httpclient.InferInput(input_name, list(image.shape), "FP32")
        tensor.set_data_from_numpy(image, binary_data=True)
        left = [requests]

        async def slot() -> None:
            while left[0] > 0:
                left[0] -= 1
                await client.infer(name, [tensor])

        try:
            await asyncio.gather(*(slot() for _ in range(inflight)))
        finally:
            await client.close()

    asyncio.run(main())


def clients_for(
    port: int, url: str, name: str, input_name: str, image, body: bytes, header_length: int
) -> dict[str, Callable[[int], None]]:
    """Each client of :data:`CLIENTS`, taking the request count, for model ``name``."""
    path = f"/v2/models/{name}/infer"
    return {
        "raw": lambda n: raw_client(port, path, body, header_length, n),
        "gevent8": lambda n: gevent_client(url, name, input_name, image, n, 8),
        "aio1": lambda n: aio_client(url, name, input_name, image, n, 1),
        "aio32": lambda n: aio_client(url, name, input_name, image, n, 32),
    }


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    """Serve the no-op and the OIP replica in turn; measure every client against each."""
    import numpy as np
    from ray import serve
    from starlette.requests import Request
    from starlette.responses import Response

    from linkedonnx.deploy.oip import InferRequest, encode_response
    from linkedonnx.deploy.serve import (
        ServeOptions,
        connect,
        deploy,
        free_port,
        stop_ray,
        wait_reachable,
    )
    from linkedonnx.onnx_io import load_model

    if args.python_proxy:
        os.environ["RAY_SERVE_ENABLE_HA_PROXY"] = "0"
    model = load_model(args.model)
    input_name = model.graph.input[0].name
    image = np.random.default_rng(0).standard_normal((1, 1, 16, 16)).astype(np.float32)
    body, header_length = binary_request(input_name, image)
    answer = encode_response("noop", {"out": np.zeros((1, 10), np.float32)},
                             InferRequest(None, {}, None, True))  # fmt: skip

    @serve.deployment(name="noop", max_ongoing_requests=64)
    class Noop:
        async def __call__(self, request: Request) -> Response:
            """Read the body, answer the fixed OIP response."""
            await request.body()
            return Response(answer.body, headers=answer.headers)

    port = free_port("127.0.0.1")
    url = f"127.0.0.1:{port}"
    ingress = "python-proxy" if args.python_proxy else "haproxy"
    rows = []
    connect(host="127.0.0.1", port=port, log_dir=work / "ray", cpus=os.cpu_count())
    try:
        for server in ("noop", "oip"):
            if server == "noop":
                name = "noop"
                serve.run(Noop.bind(), name=name, route_prefix="/")
            else:
                name = "oip"
                deploy(model, ServeOptions(name, threads=args.threads, max_batch_size=16,
                                           batch_wait_ms=2.0, timeout_s=60))  # fmt: skip
            wait_reachable("127.0.0.1", port, name)
            path = f"/v2/models/{name}/infer"
            raw_client(port, path, body, header_length, 20)  # warm-up
            clients = clients_for(port, url, name, input_name, image, body, header_length)
            for client in args.clients:
                rows.append(measure(f"{ingress} {server} {client}", clients[client], args.requests))
            serve.delete(name)
    finally:
        stop_ray("", local=True)
    return rows


def table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table: one row per case, CPU ms per request by process."""
    labels = sorted({k for r in rows for k in r["cpu_ms"]})
    lines = ["| case | requests/s | CPU ms/request | " + " | ".join(labels) + " |",
             "|---|---|---|" + "---|" * len(labels)]  # fmt: skip
    for r in rows:
        cells = " | ".join(f"{r['cpu_ms'].get(k, 0.0):.2f}" for k in labels)
        lines.append(f"| {r['case']} | {r['requests_per_s']} | {r['cpu_ms_total']:.2f} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Measure, write JSON, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="an ONNX model, 1x16x16 input")
    parser.add_argument("--requests", type=int, default=300, help="requests per row")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--clients", type=lambda s: s.split(","), default=list(CLIENTS),
                        help=f"comma-separated, of {','.join(CLIENTS)}")  # fmt: skip
    parser.add_argument("--python-proxy", action="store_true",
                        help="Ray Serve's Python HTTP proxy instead of HAProxy")  # fmt: skip
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    unknown = sorted(set(args.clients) - set(CLIENTS))
    if unknown:
        parser.error(f"unknown clients {unknown}")
    with tempfile.TemporaryDirectory(prefix="lo-sp-", dir="/tmp") as folder:
        rows = run(args, Path(folder))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
