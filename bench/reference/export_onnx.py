"""Exports a fine-tuned sequence classifier to ONNX for transformers.js (`pjrt-bert bench --serve`).

    export_onnx.py --model DIR --out DIR

DIR is a Hugging Face model directory (as `pjrt-bert train --out` writes); the output is a
model folder in the layout transformers.js loads locally: config.json (with id2label),
tokenizer.json + tokenizer_config.json (the fast tokenizer, converted from vocab.txt when the
model has no tokenizer.json), and onnx/model.onnx (float32, the name transformers.js picks for
dtype "fp32"), with batch and sequence axes dynamic. The export is torch.onnx.export's
TorchScript exporter (opset 17) over eager attention, so the graph has no shape-specialised
branch of the SDPA path. Needs the `onnx` package (bench/reference/requirements-serve.txt, on
PYTHONPATH). Prints one JSON object as the last stdout line; errors exit 1 with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="Hugging Face model directory (sequence classification)")
    parser.add_argument("--out", required=True, help="folder to write (created)")
    args = parser.parse_args()
    try:
        import onnx  # noqa: F401  (torch.onnx.export needs it; fail early with a clear message)
    except ImportError:
        sys.exit("export_onnx.py: error: the onnx package is missing; install bench/reference/requirements-serve.txt (pjrt-bert bench --serve does this into its cache folder)")
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    started = time.perf_counter()
    model = AutoModelForSequenceClassification.from_pretrained(args.model, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(args.model, use_fast=True)
    os.makedirs(os.path.join(args.out, "onnx"), exist_ok=True)
    model.config.save_pretrained(args.out)
    tokenizer.save_pretrained(args.out)
    if not os.path.exists(os.path.join(args.out, "tokenizer.json")):
        sys.exit(f"export_onnx.py: error: the tokenizer of {args.model} wrote no tokenizer.json (transformers.js needs one)")

    sample = tokenizer(["a short text", "a second, somewhat longer text to pad the first"], padding=True, return_tensors="pt")
    names = ["input_ids", "attention_mask", "token_type_ids"]
    inputs = tuple(sample[name] if name in sample else torch.zeros_like(sample["input_ids"]) for name in names)
    dynamic = {name: {0: "batch", 1: "sequence"} for name in names}
    dynamic["logits"] = {0: "batch"}
    target = os.path.join(args.out, "onnx", "model.onnx")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's warnings are about branches eager attention does not take
        expected = model(*inputs).logits
        torch.onnx.export(model, inputs, target, input_names=names, output_names=["logits"], dynamic_axes=dynamic, opset_version=17, do_constant_folding=True, dynamo=False)
    print(
        json.dumps(
            {
                "onnx": target,
                "onnx_bytes": os.path.getsize(target),
                "seconds": time.perf_counter() - started,
                "torch": torch.__version__,
                "sample_logits": expected.tolist(),
            }
        )
    )


if __name__ == "__main__":
    main()
