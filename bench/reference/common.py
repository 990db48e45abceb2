"""Shared part of the Python references of `pjrt-bert bench`: command line, inputs, timing, result.

torch_bert_step.py (HF transformers, eager PyTorch) and jax_bert_step.py (plain jax.numpy,
one jitted program) train a BertForSequenceClassification of the same shape on the same
synthetic batches and report their step time as ONE JSON object, the last line of stdout.
Progress goes to stderr; any error exits with status 1 and a one-line message on stderr.

Counting: `--warmup W --steps N --steps-per-call K` runs W untimed calls, then N timed calls,
each call K optimizer steps (K is always 1 for torch), so (W + N) * K steps in all, each on a
fresh batch. `ms_per_step` is the median over the timed calls of call_ms / K.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, NoReturn

import numpy as np

CLS_ID = 101
"""Token id of [CLS] in the BERT uncased vocabulary; put at position 0 of every sequence."""


class BenchError(Exception):
    """An error the user can fix (bad flag, unreadable file, missing backend): reported, exit 1."""


def fail(message: str) -> NoReturn:
    """Prints `message` to stderr, prefixed with the script's name, and exits with status 1."""
    print(f"{os.path.basename(sys.argv[0])}: error: {message}", file=sys.stderr, flush=True)
    sys.exit(1)


def log(message: str) -> None:
    """Writes one progress line to stderr (stdout is reserved for the result)."""
    print(message, file=sys.stderr, flush=True)


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors exit with status 1 (argparse's own default is 2)."""

    def error(self, message: str) -> NoReturn:  # noqa: D102 - documented on the class
        self.print_usage(sys.stderr)
        fail(message)


def _positive(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _non_negative(text: str) -> int:
    """argparse type: an integer >= 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def _probability(text: str) -> float:
    """argparse type: a float in [0, 1)."""
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got {value}")
    return value


def _positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {value}")
    return value


def parse_args(framework: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Parses and checks the shared command line of both references; exits 1 on a bad flag.

    `framework` ("torch" or "jax") only names the script in the help text and decides which
    framework-specific flags are accepted (`--save-init` is torch only).
    """
    parser = _Parser(
        prog=f"{framework}_bert_step.py",
        description=f"Times BertForSequenceClassification train steps (Adam) with {framework}; "
        "prints one JSON object as the last line of stdout.",
    )
    parser.add_argument("--layers", type=_positive, required=True)
    parser.add_argument("--hidden", type=_positive, required=True)
    parser.add_argument("--heads", type=_positive, required=True)
    parser.add_argument("--intermediate", type=_positive, required=True)
    parser.add_argument("--vocab", type=_positive, required=True)
    parser.add_argument("--labels", type=_positive, required=True)
    parser.add_argument("--seq-len", type=_positive, required=True)
    parser.add_argument("--batch-size", type=_positive, required=True)
    parser.add_argument("--dtype", choices=("f32", "bf16"), default="f32")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--warmup", type=_non_negative, default=2, help="untimed calls first (default 2)")
    parser.add_argument("--steps", type=_positive, default=5, help="timed calls (default 5)")
    parser.add_argument("--steps-per-call", type=_positive, default=1,
                        help="optimizer steps per call (default 1; torch ignores it)")
    parser.add_argument("--lr", type=_positive_float, default=1e-5)
    parser.add_argument("--dropout", type=_probability, default=0.1,
                        help="hidden and attention dropout probability (default 0.1)")
    parser.add_argument("--seed", type=_non_negative, default=0)
    parser.add_argument("--init-std", type=_positive_float, default=0.02,
                        help="std of the normal initial weights, HF's initializer_range (default 0.02)")
    parser.add_argument("--init", metavar="FILE.safetensors", help="load initial weights (HF names)")
    parser.add_argument("--save-init", metavar="FILE.safetensors",
                        help="write the initial weights in HF names (torch only)")
    parser.add_argument("--print-losses", action="store_true", help="also report the loss of every step")
    args = parser.parse_args(argv)

    if args.hidden % args.heads != 0:
        parser.error(f"--hidden {args.hidden} is not a multiple of --heads {args.heads}")
    if args.seq_len > 512:
        parser.error(f"--seq-len {args.seq_len} exceeds max_position_embeddings 512")
    if args.labels < 2:
        parser.error("--labels must be >= 2 (1 label would make HF train a regression)")
    if args.vocab < 2:
        parser.error("--vocab must be >= 2 (id 0 is [PAD], inputs use ids >= 1)")
    if args.init and not os.path.isfile(args.init):
        parser.error(f"--init {args.init}: no such file")
    if args.save_init and framework != "torch":
        parser.error("--save-init is only supported by torch_bert_step.py")
    if framework == "torch":
        args.steps_per_call = 1
    return args


@dataclass
class Batches:
    """Synthetic inputs of every step, numpy arrays with a leading step axis [steps, ...]."""

    input_ids: np.ndarray  # int64 [steps, B, S]
    attention_mask: np.ndarray  # int64 [steps, B, S], all ones
    token_type_ids: np.ndarray  # int64 [steps, B, S], all zeros
    labels: np.ndarray  # int64 [steps, B]


def make_batches(args: argparse.Namespace, steps: int) -> Batches:
    """Generates `steps` batches deterministically from numpy `default_rng(args.seed)`.

    input_ids are uniform in [1000, V) when V > 1000 (past BERT's special and unused tokens),
    else in [1, V); position 0 is [CLS] (101) when V > 101. The ids of all steps are drawn in
    one call, then the labels (uniform in [0, C)), so both references see the same numbers.
    """
    rng = np.random.default_rng(args.seed)
    shape = (steps, args.batch_size, args.seq_len)
    low = 1000 if args.vocab > 1000 else 1
    input_ids = rng.integers(low, args.vocab, size=shape, dtype=np.int64)
    if args.vocab > CLS_ID:
        input_ids[:, :, 0] = CLS_ID
    labels = rng.integers(0, args.labels, size=(steps, args.batch_size), dtype=np.int64)
    return Batches(
        input_ids=input_ids,
        attention_mask=np.ones(shape, dtype=np.int64),
        token_type_ids=np.zeros(shape, dtype=np.int64),
        labels=labels,
    )


@dataclass
class Timing:
    """Wall-clock times of a run of calls: the first call, and each timed call per step."""

    first_call_s: float
    step_ms: list[float]


def time_calls(run_call: Callable[[int], Any], args: argparse.Namespace, label: str) -> tuple[Timing, list[Any]]:
    """Runs warmup + steps calls of `run_call(call_index)` and times each one.

    `run_call` must not return before the call's results are really finished (device
    synchronized). Returns the timing (first call in seconds, timed calls in ms per optimizer
    step) and the list of what each call returned, in order.
    """
    calls = args.warmup + args.steps
    k = args.steps_per_call
    outputs: list[Any] = []
    step_ms: list[float] = []
    first_call_s = float("nan")
    for call in range(calls):
        start = time.perf_counter()
        outputs.append(run_call(call))
        elapsed = time.perf_counter() - start
        if call == 0:
            first_call_s = elapsed
        timed = call >= args.warmup
        if timed:
            step_ms.append(elapsed * 1e3 / k)
        log(f"{label}: call {call + 1}/{calls} ({'timed' if timed else 'warm-up'}) {elapsed * 1e3:.1f} ms"
            f"{f' = {elapsed * 1e3 / k:.1f} ms/step' if k > 1 else ''}")
    return Timing(first_call_s=first_call_s, step_ms=step_ms), outputs


def read_table(path: str) -> list[dict]:
    """The rows of a .csv (RFC 4180), .tsv (no quoting) or .jsonl file, in file order, as dicts.
    Raises BenchError naming the file when it cannot be read."""
    import csv

    try:
        with open(path, encoding="utf-8", newline="") as f:
            if path.endswith(".jsonl"):
                return [json.loads(line) for line in f if line.strip()]
            if path.endswith(".tsv"):
                return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
            return list(csv.DictReader(f))
    except OSError as error:
        raise BenchError(f"cannot read {path}: {error.strerror}") from error


def cpu_model_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else platform.processor() or the machine."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_host_mb() -> float:
    """Peak resident set size of this process in MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def emit_result(
    args: argparse.Namespace,
    *,
    framework: str,
    version: str,
    device: str,
    timing: Timing,
    compile_s: float | None,
    peak_device_mb: float | None,
    threads: int | None,
    losses: list[float] | None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Prints the result JSON object as one line on stdout (the last line the script prints)."""
    result: dict[str, Any] = {
        "framework": framework,
        "version": version,
        "device": device,
        "dtype": args.dtype,
        "layers": args.layers,
        "hidden": args.hidden,
        "heads": args.heads,
        "intermediate": args.intermediate,
        "vocab": args.vocab,
        "labels": args.labels,
        "seq_len": args.seq_len,
        "batch_size": args.batch_size,
        "steps_per_call": args.steps_per_call,
        "warmup": args.warmup,
        "steps": args.steps,
        "ms_per_step": statistics.median(timing.step_ms),
        "step_ms": timing.step_ms,
        "first_call_s": timing.first_call_s,
        "compile_s": compile_s,
        "peak_host_mb": peak_host_mb(),
        "peak_device_mb": peak_device_mb,
        "threads": threads,
    }
    if extra:
        result.update(extra)
    if args.print_losses:
        result["losses"] = losses
    sys.stdout.write(json.dumps(result, allow_nan=True) + "\n")
    sys.stdout.flush()


def main_guard(main: Callable[[], None]) -> None:
    """Runs `main`, turning BenchError (and an out-of-memory) into a message and exit status 1."""
    try:
        main()
    except BenchError as error:
        fail(str(error))
    except MemoryError:
        fail("out of host memory")
    except KeyboardInterrupt:
        fail("interrupted")
