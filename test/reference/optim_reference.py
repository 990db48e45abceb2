"""Python side of the optimizer parity tests: torch.optim.Adam/AdamW with the Hugging Face
Trainer's parameter groups, transformers' warmup schedules and clip_grad_norm_.

Reads one JSON object on stdin:
  {"params": {name: {"shape": [...], "values": [...]}},      initial f32 values, row-major
   "grads": [{name: [...]}, ...],                              one gradient dict per step
   "runs": [{"name", "optimizer": "adam"|"adamw", "lr", "betas", "eps", "weight_decay",
             "schedule": "constant"|"linear", "warmup", "total", "clip": number|null}]}
   "names": [...]}                                             more names to classify
Writes {"runs": {run name: {"params": {name: [...]}, "lrs": [...], "norms": [...]}},
"decay": [...]}: the parameters after all steps, the learning rate each step used, the
pre-clipping norm of each step, and which of params + names the HF Trainer decays. The decay
groups come from transformers' own Trainer.get_decay_parameter_names, run on a module tree
built from the dotted names.
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def hf_decay_names(names):
    import torch
    from torch import nn
    from transformers.trainer import Trainer

    root = nn.Module()
    for name in names:
        *path, leaf = name.split(".")
        module = root
        for part in path:
            if not hasattr(module, part):
                module.add_module(part, nn.Module())
            module = getattr(module, part)
        module.register_parameter(leaf, nn.Parameter(torch.zeros(1)))
    # the method does not use self
    return set(Trainer.get_decay_parameter_names(None, root))


def run(spec, initial, grads, decayed):
    import torch
    from transformers import get_constant_schedule_with_warmup, get_linear_schedule_with_warmup

    params = {
        name: torch.tensor(entry["values"], dtype=torch.float32).reshape(entry["shape"]).requires_grad_()
        for name, entry in initial.items()
    }
    groups = [
        {"params": [p for n, p in params.items() if n in decayed], "weight_decay": spec["weight_decay"]},
        {"params": [p for n, p in params.items() if n not in decayed], "weight_decay": 0.0},
    ]
    optimizer_class = torch.optim.Adam if spec["optimizer"] == "adam" else torch.optim.AdamW
    optimizer = optimizer_class(groups, lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"])
    if spec["schedule"] == "linear":
        scheduler = get_linear_schedule_with_warmup(optimizer, spec["warmup"], spec["total"])
    else:
        scheduler = get_constant_schedule_with_warmup(optimizer, spec["warmup"])
    lrs, norms = [], []
    for step_grads in grads:
        for name, p in params.items():
            p.grad = torch.tensor(step_grads[name], dtype=torch.float32).reshape(p.shape)
        if spec["clip"] is not None:
            norms.append(float(torch.nn.utils.clip_grad_norm_(list(params.values()), spec["clip"])))
        lrs.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    final = {name: p.detach().flatten().tolist() for name, p in params.items()}
    return {"params": final, "lrs": lrs, "norms": norms}


def main():
    request = json.load(sys.stdin)
    names = list(request["params"]) + request.get("names", [])
    decayed = hf_decay_names(names)
    runs = {spec["name"]: run(spec, request["params"], request["grads"], decayed) for spec in request["runs"]}
    json.dump({"runs": runs, "decay": [name for name in names if name in decayed]}, sys.stdout)


if __name__ == "__main__":
    main()
