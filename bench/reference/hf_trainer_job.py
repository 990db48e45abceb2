"""Hugging Face Trainer side of `pjrt-bert bench --job`: the whole fine-tuning job, timed.

One run reads the table, tokenizes it with the model directory's tokenizer (vocab.txt, no
padding: the default `DataCollatorWithPadding` pads each batch to its longest row), fine-tunes
`AutoModelForSequenceClassification` from the same initial directory our side loads with
`transformers.Trainer` (AdamW, linear warm-up then --schedule, gradient clipping, weight decay
skipping biases and LayerNorm weights as the Trainer does), evaluates on the held-out last rows
after each epoch and saves the model with `save_model`. `seconds` is the wall clock from
reading the table to the saved model (the imports of torch and transformers come before and
are reported apart as `import_s`).

Data order: with --order FILE (a JSON list of per-epoch lists of training-row indices, which
`pjrt-bert bench --job` writes from our trainer's shuffle) every epoch visits the rows in that
order, so both sides see the same batches; without it the Trainer's own random sampler is used.
torch uses --threads threads (default: every core).

    .cache/venv/bin/python bench/reference/hf_trainer_job.py --model INIT_DIR --data GRGE.csv \\
        --text-column Text --label-column Polarity1 --validation-split 0.2 --out OUT_DIR

Prints one JSON object, the last line of stdout; progress and errors go to stderr (exit 1).
"""

from __future__ import annotations

import time

IMPORT_STARTED = time.perf_counter()

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchError, log, main_guard, peak_host_mb, read_table  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--model", required=True, help="HF model directory with a sequence-classification head and its tokenizer")
    parser.add_argument("--data", required=True, help=".csv, .tsv or .jsonl file")
    parser.add_argument("--text-column", default="text")
    parser.add_argument("--label-column", default="label")
    parser.add_argument("--validation-split", type=float, default=0.2, help="fraction of the LAST rows held out (Keras' validation_split)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--seq-len", type=int, default=128, help="truncation length (no padding to it)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    parser.add_argument("--warmup-steps", type=int, default=0)
    parser.add_argument("--schedule", choices=["linear", "constant"], default="linear")
    parser.add_argument("--clip-norm", type=float, default=1.0, help="max_grad_norm; 0 turns clipping off")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--order", help="JSON file: one list of training-row indices per epoch")
    parser.add_argument("--out", required=True, help="where save_model writes the fine-tuned model")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    if not 0 <= args.validation_split < 1:
        raise BenchError(f"--validation-split must be in [0, 1), got {args.validation_split}")
    for name in ("epochs", "seq_len", "batch_size", "threads"):
        if getattr(args, name) < 1:
            raise BenchError(f"--{name.replace('_', '-')} must be a positive integer, got {getattr(args, name)}")
    return args


def read_rows(path: str, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    """Texts and labels of a .csv (RFC 4180), .tsv (no quoting) or .jsonl file, in file order."""
    rows = read_table(path)
    if not rows:
        raise BenchError(f"{path} has no data rows")
    for column in (text_column, label_column):
        if column not in rows[0]:
            raise BenchError(f"{path} has no column {column!r} (columns: {', '.join(map(str, rows[0].keys()))})")
    return [str(row[text_column]) for row in rows], [str(row[label_column]) for row in rows]


def validation_cut(count: int, fraction: float) -> int:
    """Rows that train: the first floor(count * (1 - fraction)), as pjrt-bert and Keras cut."""
    cut = count if fraction == 0 else math.floor(count * (1 - fraction))
    if cut in (0, count) and fraction > 0:
        raise BenchError(f"{count} rows are not enough to hold out --validation-split {fraction}")
    return cut


def main() -> None:
    args = parse_args()
    import numpy as np
    import torch
    import transformers
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
    )

    torch.set_num_threads(args.threads)
    transformers.utils.logging.disable_progress_bar()
    import_s = time.perf_counter() - IMPORT_STARTED

    started = time.perf_counter()
    texts, labels = read_rows(args.data, args.text_column, args.label_column)
    cut = validation_cut(len(texts), args.validation_split)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model, loading = AutoModelForSequenceClassification.from_pretrained(args.model, output_loading_info=True)
    fresh = sorted(loading.get("missing_keys", [])) + sorted(loading.get("mismatched_keys", []))
    if fresh:
        # both sides must start from the same weights: nothing may be initialised here
        raise BenchError(f"{args.model} lacks weights the model needs, which would start at random: {fresh[:8]}")
    label2id = model.config.label2id
    unknown = sorted(set(labels) - set(label2id))
    if unknown:
        raise BenchError(f"{args.data}: labels {unknown} are not in {args.model}/config.json label2id {label2id}")
    encoded = tokenizer(texts, truncation=True, max_length=args.seq_len)
    rows = [
        {key: encoded[key][i] for key in encoded.keys()} | {"labels": label2id[labels[i]]}
        for i in range(len(texts))
    ]
    train_rows, eval_rows = rows[:cut], rows[cut:]
    tokenized_s = time.perf_counter() - started

    orders = None
    if args.order:
        with open(args.order, encoding="utf-8") as f:
            orders = json.load(f)
        if not orders or any(sorted(order) != list(range(cut)) for order in orders):
            raise BenchError(f"{args.order} must hold, per epoch, a permutation of the {cut} training rows")

    followed: list[int] = []  # the epochs whose order the Trainer's dataloader drew

    class OrderSampler(torch.utils.data.Sampler):
        """Visits epoch e's rows in orders[e] (set_epoch when the Trainer calls it, else a count of passes)."""

        def __init__(self) -> None:
            self.epoch: int | None = None
            self.passes = 0

        def set_epoch(self, epoch: int) -> None:
            self.epoch = epoch

        def __len__(self) -> int:
            return cut

        def __iter__(self):
            epoch = self.epoch if self.epoch is not None else self.passes
            self.passes += 1
            followed.append(epoch)
            return iter(orders[epoch % len(orders)])

    class JobTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return OrderSampler() if orders is not None else super()._get_train_sampler(train_dataset)

    def accuracy(prediction) -> dict[str, float]:
        logits, truth = prediction
        return {"accuracy": float((np.argmax(logits, axis=-1) == truth).mean())}

    scratch = tempfile.mkdtemp(prefix="hf-trainer-job-")
    training_args = TrainingArguments(
        output_dir=scratch,
        per_device_train_batch_size=args.batch_size,
        per_device_eval_batch_size=args.batch_size,
        num_train_epochs=args.epochs,
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_steps,
        lr_scheduler_type="linear" if args.schedule == "linear" else "constant_with_warmup",
        max_grad_norm=args.clip_norm,
        seed=args.seed,
        eval_strategy="epoch",
        save_strategy="no",
        logging_strategy="epoch",
        report_to="none",
        disable_tqdm=True,
        dataloader_num_workers=0,
        use_cpu=args.device == "cpu",
    )
    trainer = JobTrainer(
        model=model,
        args=training_args,
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        data_collator=DataCollatorWithPadding(tokenizer),
        processing_class=tokenizer,
        compute_metrics=accuracy,
    )
    log(f"hf trainer job: {cut} training rows, {len(eval_rows)} validation rows, {args.threads} torch threads")
    train_started = time.perf_counter()
    output = trainer.train()
    train_s = time.perf_counter() - train_started
    trainer.save_model(args.out)
    seconds = time.perf_counter() - started

    evaluations = [entry for entry in trainer.state.log_history if "eval_accuracy" in entry]
    if not evaluations:
        raise BenchError("the Trainer logged no evaluation (eval_strategy='epoch' ran none)")
    lengths = [len(row["input_ids"]) for row in train_rows]
    batches = [
        order[i : i + args.batch_size]
        for order in ([orders[epoch % len(orders)] for epoch in range(args.epochs)] if orders else [])
        for i in range(0, cut, args.batch_size)
    ]
    real = sum(lengths[j] for batch in batches for j in batch)
    padded = sum(len(batch) * max(lengths[j] for j in batch) for batch in batches)
    result = {
        "framework": "hf_trainer",
        "versions": {"transformers": transformers.__version__, "torch": torch.__version__.split("+")[0], "accelerate": _version("accelerate")},
        "seconds": seconds,
        "import_s": import_s,
        "tokenize_s": tokenized_s,
        "train_s": train_s,
        "steps": trainer.state.global_step,
        "train_loss": output.training_loss,
        "val_accuracy": evaluations[-1]["eval_accuracy"],
        "val_loss": evaluations[-1]["eval_loss"],
        "train_examples": cut,
        "validation_examples": len(eval_rows),
        "train_tokens": sum(lengths),
        # dynamic padding: 1 - real tokens / tokens of the padded batches (exact when --order is given)
        "padding_fraction": (1 - real / padded) if batches else None,
        "mean_padded_length": padded / sum(len(batch) for batch in batches) if batches else None,
        # true when the Trainer drew every epoch's rows from --order (its own sampler otherwise)
        "order_followed": orders is not None and sorted(set(followed)) == list(range(args.epochs)),
        "threads": args.threads,
        "peak_rss_mb": peak_host_mb(),
    }
    print(json.dumps(result), flush=True)


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


if __name__ == "__main__":
    main_guard(main)
