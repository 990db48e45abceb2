"""PyTorch reference of a pjrt-bert training run, for the Trainer parity test.

Reads JSON from stdin: {"model": dir, "out": file, "optimizer": "adam"|"adamw", "lr": float,
"weight_decay": float, "warmup": int, "total_steps": int, "clip": float, "batch": int,
"input_ids": [[...]], "attention_mask": [[...]], "token_type_ids": [[...]], "labels": [...]},
and optionally "eval": {"input_ids", "attention_mask", "token_type_ids", "labels"} to report the
accuracy after training.
Loads BertForSequenceClassification from `model`, trains on the rows in file order (no
shuffle, dropout off) with torch.optim.Adam/AdamW (weight decay skipped for biases and
LayerNorm weights), transformers' linear warmup schedule and clip_grad_norm_, the loss being
the mean cross-entropy of each batch, and writes the final parameters to `out` (safetensors).
"""
import json
import sys

import torch
from safetensors.torch import save_file
from transformers import BertForSequenceClassification, get_linear_schedule_with_warmup

args = json.load(sys.stdin)
torch.manual_seed(0)
model = BertForSequenceClassification.from_pretrained(args["model"], attn_implementation="eager")
model.train()
for module in model.modules():
    if isinstance(module, torch.nn.Dropout):
        module.p = 0.0

decay, no_decay = [], []
for name, param in model.named_parameters():
    (no_decay if name.endswith("bias") or "LayerNorm" in name else decay).append(param)
groups = [{"params": decay, "weight_decay": args["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
optimizer_class = torch.optim.AdamW if args["optimizer"] == "adamw" else torch.optim.Adam
optimizer = optimizer_class(groups, lr=args["lr"], betas=(0.9, 0.999), eps=1e-8)
schedule = get_linear_schedule_with_warmup(optimizer, args["warmup"], args["total_steps"])

ids = torch.tensor(args["input_ids"])
mask = torch.tensor(args["attention_mask"])
types = torch.tensor(args["token_type_ids"])
labels = torch.tensor(args["labels"])
batch = args["batch"]
losses = []
for start in range(0, len(labels), batch):
    end = start + batch
    optimizer.zero_grad()
    logits = model(input_ids=ids[start:end], attention_mask=mask[start:end], token_type_ids=types[start:end]).logits
    loss = torch.nn.functional.cross_entropy(logits, labels[start:end])
    loss.backward()
    if args["clip"] > 0:
        torch.nn.utils.clip_grad_norm_(model.parameters(), args["clip"])
    optimizer.step()
    schedule.step()
    losses.append(loss.item())

save_file({name: p.detach().contiguous() for name, p in model.named_parameters()}, args["out"])
result = {"losses": losses}
if "eval" in args:
    model.eval()
    held = args["eval"]
    correct = 0
    with torch.no_grad():
        for start in range(0, len(held["labels"]), 64):
            end = start + 64
            logits = model(
                input_ids=torch.tensor(held["input_ids"][start:end]),
                attention_mask=torch.tensor(held["attention_mask"][start:end]),
                token_type_ids=torch.tensor(held["token_type_ids"][start:end]),
            ).logits
            correct += int((logits.argmax(-1) == torch.tensor(held["labels"][start:end])).sum())
    result["eval_accuracy"] = correct / len(held["labels"])
print(json.dumps(result))
