"""Python side of the family parity tests: transformers' Auto classes (eager attention, float32)
as the reference for every encoder family, built at test time from a tiny random config.

Subcommands (a JSON request on stdin, a JSON result on stdout):
  random DIR   request {model_type, config, seed, task, input_ids, attention_mask,
               token_type_ids?, labels, tokenizer?}: AutoConfig.for_model(model_type, **config) and a
               randomly initialised AutoModelFor<task> (LayerNorm weights and biases randomised
               too, so every parameter matters), saved with save_pretrained to DIR; its logits,
               the loss for the labels, and the gradient of that loss for every parameter,
               written to DIR/grads.safetensors. With tokenizer {kind, texts, vocab_size,
               class}, a tokenizer of that kind (wordpiece, bpe, unigram) is first trained on
               the texts with `tokenizers`, saved to DIR as the transformers class `class`
               (e.g. BertTokenizerFast), vocab_size raised to its size if larger, pad_token_id set
  logits DIR   request {task, input_ids, attention_mask, token_type_ids?}: DIR loaded with
               AutoModelFor<task>.from_pretrained; its logits and the loading report
  train DIR    request {task, out, optimizer, lr, weight_decay, warmup, total_steps, clip, batch,
               input_ids, attention_mask, token_type_ids?, labels, float_labels?}: trains DIR in row order
               (dropout off) with torch.optim.Adam/AdamW (no weight decay for biases and norm
               weights, the HF Trainer rule), transformers' linear schedule with warmup and
               clip_grad_norm_; writes the final parameters to `out`; returns the losses
  jobs         request [{command, args, request}, ...]: several of the above in one process
task: "sequence" (AutoModelForSequenceClassification), "token" (AutoModelForTokenClassification) or
"pretraining" (AutoModelForPreTraining, e.g. ElectraForPreTraining: labels as that class takes them).
"""
import json
import os
import re
import sys
import warnings

warnings.filterwarnings("ignore")
_requests = []

# transformers' Trainer.get_decay_parameter_names: names matching these get no weight decay
NO_DECAY = [r"bias", r"layernorm", r"rmsnorm", r"(?:^|\.)norm(?:$|\.)", r"_norm(?:$|\.)"]


def load_request():
    return _requests.pop() if _requests else json.loads(sys.stdin.read())


def auto_class(task):
    import transformers

    classes = {"token": transformers.AutoModelForTokenClassification, "pretraining": transformers.AutoModelForPreTraining}
    return classes.get(task, transformers.AutoModelForSequenceClassification)


def inputs_of(request):
    import torch

    inputs = dict(
        input_ids=torch.tensor(request["input_ids"], dtype=torch.long),
        attention_mask=torch.tensor(request["attention_mask"], dtype=torch.long),
    )
    if request.get("token_type_ids") is not None:
        inputs["token_type_ids"] = torch.tensor(request["token_type_ids"], dtype=torch.long)
    return inputs


def labels_of(request):
    """The request's labels: float for regression and multi-label ("float_labels": true), else long."""
    import torch

    return torch.tensor(request["labels"], dtype=torch.float if request.get("float_labels") else torch.long)


SPECIALS = {
    "wordpiece": dict(unk_token="[UNK]", cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]", mask_token="[MASK]"),
    "bpe": dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", cls_token="<s>", sep_token="</s>", pad_token="<pad>", mask_token="<mask>"),
    "unigram": dict(bos_token="<s>", eos_token="</s>", unk_token="<unk>", cls_token="<s>", sep_token="</s>", pad_token="<pad>", mask_token="<mask>"),
}


def train_tokenizer(spec, out_dir):
    """Trains a tokenizer of spec["kind"] on spec["texts"] and saves it as spec["class"]; returns its size.

    The trainers break frequency ties in hash-map order, which differs per process: the vocabulary
    (so the token ids of the tests' data) can differ from run to run. The tests compare both sides
    on the ids the trained tokenizer gives, so they hold for any vocabulary. Unigram needs
    vocab_size above the number of distinct characters in the texts.
    """
    import transformers
    from tokenizers import ByteLevelBPETokenizer, SentencePieceUnigramTokenizer
    from tokenizers import BertWordPieceTokenizer

    kind, texts, size = spec["kind"], spec["texts"], spec["vocab_size"]
    specials = SPECIALS[kind]
    ordered = list(dict.fromkeys(specials.values()))
    if kind == "wordpiece":
        trained = BertWordPieceTokenizer(lowercase=True)
        trained.train_from_iterator(texts, vocab_size=size, min_frequency=1, special_tokens=ordered, show_progress=False)
    elif kind == "bpe":
        trained = ByteLevelBPETokenizer()
        trained.train_from_iterator(texts, vocab_size=size, min_frequency=1, special_tokens=ordered, show_progress=False)
    else:
        trained = SentencePieceUnigramTokenizer()
        trained.train_from_iterator(texts, vocab_size=size, special_tokens=ordered, unk_token="<unk>", show_progress=False)
    cls = getattr(transformers, spec["class"])
    tokenizer = cls(tokenizer_object=trained._tokenizer, **specials)
    tokenizer.save_pretrained(out_dir)
    return len(tokenizer), tokenizer.pad_token_id


def random_model(out_dir):
    import torch
    from safetensors.torch import save_file
    from transformers import AutoConfig

    request = load_request()
    torch.manual_seed(request["seed"])
    settings = dict(request["config"])
    if request.get("tokenizer"):
        size, pad = train_tokenizer(request["tokenizer"], out_dir)
        settings["vocab_size"] = max(settings.get("vocab_size", size), size)
        settings["pad_token_id"] = pad
    config = AutoConfig.for_model(request["model_type"], **settings)
    config._attn_implementation = "eager"
    model = auto_class(request["task"]).from_config(config, attn_implementation="eager")
    with torch.no_grad():
        for name, param in model.named_parameters():
            lower = name.lower()
            if param.dim() == 1 and ("norm" in lower) and name.endswith("weight"):
                param.uniform_(0.5, 1.5)
            elif name.endswith(".bias"):
                param.normal_(0.0, 0.1)
    model.eval()
    model.save_pretrained(out_dir)
    labels = labels_of(request)
    out = model(**inputs_of(request), labels=labels)
    out.loss.backward()
    grads = {name: param.grad.detach().contiguous() for name, param in model.named_parameters() if param.grad is not None}
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))
    return {"logits": out.logits.tolist(), "loss": out.loss.item(), "class": type(model).__name__, "vocab_size": config.vocab_size}


def logits_of(model_dir):
    import torch

    request = load_request()
    model, info = auto_class(request["task"]).from_pretrained(model_dir, output_loading_info=True, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        logits = model(**inputs_of(request)).logits
    return {
        "class": type(model).__name__,
        "logits": logits.tolist(),
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
        "mismatched": sorted(str(k) for k in info["mismatched_keys"]),
    }


def train(model_dir):
    import torch
    from safetensors.torch import save_file
    from transformers import get_linear_schedule_with_warmup

    args = load_request()
    torch.manual_seed(0)
    model = auto_class(args["task"]).from_pretrained(model_dir, attn_implementation="eager")
    model.train()
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
    decay, no_decay = [], []
    for name, param in model.named_parameters():
        (no_decay if any(re.search(p, name.lower()) for p in NO_DECAY) else decay).append(param)
    groups = [{"params": decay, "weight_decay": args["weight_decay"]}, {"params": no_decay, "weight_decay": 0.0}]
    optimizer_class = torch.optim.AdamW if args["optimizer"] == "adamw" else torch.optim.Adam
    optimizer = optimizer_class(groups, lr=args["lr"], betas=(0.9, 0.999), eps=1e-8)
    schedule = get_linear_schedule_with_warmup(optimizer, args["warmup"], args["total_steps"])
    inputs = inputs_of(args)
    labels = labels_of(args)
    batch = args["batch"]
    losses = []
    for start in range(0, len(labels), batch):
        end = start + batch
        optimizer.zero_grad()
        loss = model(**{k: v[start:end] for k, v in inputs.items()}, labels=labels[start:end]).loss
        loss.backward()
        if args["clip"] > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), args["clip"])
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    save_file({name: p.detach().contiguous() for name, p in model.named_parameters()}, args["out"])
    return {"losses": losses}


COMMANDS = {"random": random_model, "logits": logits_of, "train": train}


def jobs():
    results = []
    for job in json.loads(sys.stdin.read()):
        _requests.append(job["request"])
        results.append(COMMANDS[job["command"]](*job["args"]))
    return results


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    json.dump({**COMMANDS, "jobs": jobs}[command](*args), sys.stdout)
