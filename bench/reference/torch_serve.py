"""The PyTorch baseline of `pjrt-bert bench --serve`: a transformers text-classification pipeline
behind a minimal HTTP server with dynamic batching.

    torch_serve.py --model DIR [--host 127.0.0.1] [--port 0] [--seq-len 128]
                   [--max-batch-size 32] [--max-wait-ms 5] [--device cpu]

API (the subset of Hugging Face TEI the bench uses): `POST /predict` with `{"inputs": "text"}` or
a pair `{"inputs": ["text", "pair"]}` answers `[{"label", "score"}, ...]` sorted by score (the
pipeline's `top_k=None`); inputs are truncated to --seq-len tokens. `GET /health` answers 200.

Batching: request threads (ThreadingHTTPServer, one per connection) put their input in one queue
and wait; one worker thread takes the oldest input, gathers more until --max-batch-size inputs or
--max-wait-ms after that input arrived, and runs them as one pipeline call (`batch_size` = the
batch, padded to its longest input), as lib/serve's batcher does for pjrt-bert.

Loads the model, runs one warm-up batch, then prints `listening on http://HOST:PORT` on stdout.
SIGTERM or SIGINT stops it (exit 0). Binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import queue
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Pending:
    """One input waiting for its batch: the worker fills `result` (or `error`) and sets `done`."""

    def __init__(self, payload: Any) -> None:
        self.payload = payload
        self.queued_at = time.perf_counter()
        self.done = threading.Event()
        self.result: Any = None
        self.error: str | None = None


class Batcher:
    """The queue and the worker thread that runs batches through the pipeline."""

    def __init__(self, classify: Any, max_batch_size: int, max_wait_ms: float, seq_len: int) -> None:
        self.classify = classify
        self.max_batch_size = max_batch_size
        self.max_wait = max_wait_ms / 1000.0
        self.seq_len = seq_len
        self.queue: queue.Queue[Pending] = queue.Queue()
        threading.Thread(target=self._loop, name="batcher", daemon=True).start()

    def run(self, payloads: list[Any]) -> list[Any]:
        """Runs the inputs as one batch, now (used for the warm-up, before serving)."""
        return self.classify(payloads, batch_size=len(payloads), top_k=None, truncation=True, max_length=self.seq_len)

    def submit(self, payload: Any) -> Pending:
        """Queues one input; wait on the returned object's `done`."""
        pending = Pending(payload)
        self.queue.put(pending)
        return pending

    def _loop(self) -> None:
        while True:
            batch = [self.queue.get()]
            deadline = batch[0].queued_at + self.max_wait
            while len(batch) < self.max_batch_size:
                left = deadline - time.perf_counter()
                try:
                    batch.append(self.queue.get(timeout=left) if left > 0 else self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self.run([p.payload for p in batch])
                for pending, result in zip(batch, results):
                    pending.result = result
            except Exception as error:  # a failed batch fails its requests only
                for pending in batch:
                    pending.error = f"inference failed: {error}"
            for pending in batch:
                pending.done.set()


def make_handler(batcher: Batcher) -> type[BaseHTTPRequestHandler]:
    """The request handler class, bound to `batcher`."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the load generator's clients expect

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass  # one line per request would cost more than the work measured

        def _send(self, status: int, body: Any) -> None:
            data = json.dumps(body).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if self.path == "/health":
                self._send(200, {})
            else:
                self._send(404, {"error": f"no route {self.path}", "error_type": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            if self.path != "/predict":
                return self._send(404, {"error": f"no route {self.path}", "error_type": "not_found"})
            try:
                inputs = json.loads(raw)["inputs"]
            except (ValueError, KeyError, TypeError):
                return self._send(400, {"error": 'the body must be JSON {"inputs": ...}', "error_type": "validation"})
            if isinstance(inputs, str):
                payload: Any = inputs
            elif isinstance(inputs, list) and len(inputs) == 2 and all(isinstance(x, str) for x in inputs):
                payload = {"text": inputs[0], "text_pair": inputs[1]}
            else:
                return self._send(422, {"error": 'inputs must be a text or a pair ["text", "pair"]', "error_type": "validation"})
            pending = batcher.submit(payload)
            pending.done.wait()
            if pending.error is not None:
                return self._send(500, {"error": pending.error, "error_type": "backend"})
            self._send(200, [{"label": r["label"], "score": float(r["score"])} for r in pending.result])

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="transformers pipeline behind a minimal batching HTTP server")
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    args = parser.parse_args()
    if args.max_batch_size < 1 or args.seq_len < 2 or args.max_wait_ms < 0:
        sys.exit("torch_serve.py: error: --max-batch-size must be >= 1, --seq-len >= 2, --max-wait-ms >= 0")

    import torch
    from transformers import pipeline

    classify = pipeline("text-classification", model=args.model, device=args.device)
    batcher = Batcher(classify, args.max_batch_size, args.max_wait_ms, args.seq_len)
    with torch.inference_mode():
        batcher.run(["warm-up text"] * min(4, args.max_batch_size))
    server = ThreadingHTTPServer((args.host, args.port), make_handler(batcher))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    shown = f"[{host}]" if ":" in host else host

    def stop(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"listening on http://{shown}:{port}", flush=True)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}", file=sys.stderr, flush=True)
    server.serve_forever()
    server.server_close()


if __name__ == "__main__":
    main()
