"""PyTorch reference of `pjrt-bert bench`: eager train steps of HF BertForSequenceClassification.

The model is built from a BertConfig (never downloaded): gelu (erf), layer_norm_eps 1e-12,
max_position_embeddings 512, type_vocab_size 2, hidden and attention dropout --dropout,
HF's default attention implementation. One step = zero_grad(set_to_none) + forward with
labels (mean cross-entropy) + backward + torch.optim.Adam(lr, betas 0.9/0.999, eps 1e-8).
bf16 runs the forward under torch.autocast(bfloat16) with f32 master weights. All CPU cores
are used (torch.set_num_threads(os.cpu_count())). --steps-per-call is ignored (eager: K = 1).

    .cache/venv/bin/python bench/reference/torch_bert_step.py --layers 4 --hidden 256 \\
        --heads 4 --intermediate 1024 --vocab 30522 --labels 3 --seq-len 128 --batch-size 32

See common.py for the flags, the inputs and the JSON result.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchError, cpu_model_name, emit_result, log, main_guard, make_batches, parse_args, time_calls  # noqa: E402

FRAMEWORK = "torch"
BUFFER_SUFFIXES = ("embeddings.position_ids", "embeddings.token_type_ids")
"""Non-parameter entries some HF checkpoints carry; tolerated by --init, never needed."""


def build_model(args, torch, transformers):
    """Builds the BertForSequenceClassification of the flags (HF init, seeded with --seed), in train mode."""
    config = transformers.BertConfig(
        vocab_size=args.vocab,
        hidden_size=args.hidden,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        intermediate_size=args.intermediate,
        hidden_act="gelu",
        hidden_dropout_prob=args.dropout,
        attention_probs_dropout_prob=args.dropout,
        max_position_embeddings=512,
        type_vocab_size=2,
        layer_norm_eps=1e-12,
        initializer_range=args.init_std,
        num_labels=args.labels,
    )
    torch.manual_seed(args.seed)
    model = transformers.BertForSequenceClassification(config)
    if args.init:
        load_init(model, args.init, torch)
    model.train()
    return model


def load_init(model, path: str, torch) -> None:
    """Loads HF-named weights from a safetensors file into `model`; every parameter must be there."""
    from safetensors.torch import load_file

    try:
        state = load_file(path)
    except Exception as error:  # safetensors raises several types for a bad file
        raise BenchError(f"--init {path}: cannot read safetensors: {error}") from error
    state = {name: value for name, value in state.items() if not name.endswith(BUFFER_SUFFIXES)}
    expected = dict(model.named_parameters())
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise BenchError(f"--init {path}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, value in state.items():
        if tuple(value.shape) != tuple(expected[name].shape):
            raise BenchError(f"--init {path}: {name} has shape {tuple(value.shape)}, "
                             f"the model needs {tuple(expected[name].shape)}")
    with torch.no_grad():
        for name, param in expected.items():
            param.copy_(state[name].to(torch.float32))


def save_init(model, path: str) -> None:
    """Writes model.state_dict() (HF names, f32, persistent entries only) to a safetensors file."""
    from safetensors.torch import save_file

    state = {name: value.detach().contiguous().cpu() for name, value in model.state_dict().items()}
    try:
        save_file(state, path)
    except OSError as error:
        raise BenchError(f"--save-init {path}: {error}") from error


def main() -> None:
    """Parses the flags, builds model, optimizer and inputs, runs and times the steps, prints the result."""
    args = parse_args(FRAMEWORK)
    import torch
    import transformers

    torch.set_num_threads(os.cpu_count() or 1)
    if args.device == "cuda":
        if not torch.cuda.is_available():
            raise BenchError("--device cuda: torch sees no CUDA device "
                             "(this venv may have stub CUDA libraries; see scripts/setup-python.sh)")
        device = torch.device("cuda")
        device_name = torch.cuda.get_device_name(device)
    else:
        device = torch.device("cpu")
        device_name = cpu_model_name()

    start = time.perf_counter()
    model = build_model(args, torch, transformers)
    if args.save_init:
        save_init(model, args.save_init)
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8)
    log(f"{FRAMEWORK}: model built in {time.perf_counter() - start:.2f} s "
        f"({sum(p.numel() for p in model.parameters()) / 1e6:.2f} M parameters, "
        f"attention {model.config._attn_implementation}, {torch.get_num_threads()} threads)")

    calls = args.warmup + args.steps
    batches = make_batches(args, calls)
    # Inputs go to the device before any timing, as the pjrt-bert side does.
    inputs = [
        {
            "input_ids": torch.from_numpy(batches.input_ids[i]).to(device),
            "attention_mask": torch.from_numpy(batches.attention_mask[i]).to(device),
            "token_type_ids": torch.from_numpy(batches.token_type_ids[i]).to(device),
            "labels": torch.from_numpy(batches.labels[i]).to(device),
        }
        for i in range(calls)
    ]
    autocast = (
        (lambda: torch.autocast(device_type=device.type, dtype=torch.bfloat16))
        if args.dtype == "bf16"
        else contextlib.nullcontext
    )
    synchronize = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        synchronize()
        torch.cuda.reset_peak_memory_stats(device)

    def run_call(call: int):
        """One train step on batch `call`; returns the detached loss once the step is finished."""
        optimizer.zero_grad(set_to_none=True)
        with autocast():
            loss = model(**inputs[call]).loss
        loss.backward()
        optimizer.step()
        synchronize()
        return loss.detach()

    timing, losses = time_calls(run_call, args, FRAMEWORK)
    peak_device_mb = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
    emit_result(
        args,
        framework=FRAMEWORK,
        version=torch.__version__,
        device=device_name,
        timing=timing,
        compile_s=None,
        peak_device_mb=peak_device_mb,
        threads=torch.get_num_threads(),
        losses=[float(loss.float().item()) for loss in losses],
        extra={"transformers": transformers.__version__, "attention": model.config._attn_implementation},
    )


if __name__ == "__main__":
    main_guard(main)
