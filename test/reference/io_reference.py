"""Python side of the io parity tests (torch, safetensors, transformers).

Subcommands (results as JSON on stdout):
  torch-save OUT_BIN OUT_SAFETENSORS   torch.save a state dict of many dtypes and layouts
                                       (non-contiguous, shared storage, scalar, empty) and
                                       save its contiguous copy with safetensors
  evil OUT_BIN GLOBAL MARKER           write a torch-style zip checkpoint whose pickle calls
                                       GLOBAL ("os.system", "builtins.eval", or "torch":
                                       torch.save of an object reducing to os.system)
  summary FILE                         per tensor of a .safetensors file: dtype, shape, sum
                                       and the first 8 values (float64), read by safetensors
  load-dir DIR TEXT                    load DIR with BertForSequenceClassification and
                                       BertTokenizer.from_pretrained; report loading info,
                                       labels, token ids of TEXT and per-tensor sums
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def describe(tensors):
    import torch

    out = {}
    for name, tensor in tensors.items():
        values = tensor.detach().to(torch.float64).flatten()
        out[name] = {
            "dtype": str(tensor.dtype).replace("torch.", ""),
            "shape": list(tensor.shape),
            "sum": float(values.sum()) if values.numel() else 0.0,
            "head": [float(v) for v in values[:8]],
        }
    return out


def torch_save(out_bin, out_safetensors):
    import torch
    from safetensors.torch import save_file

    generator = torch.Generator().manual_seed(0)
    base = torch.randn(6, 10, generator=generator)
    state = {
        "bert.embeddings.word_embeddings.weight": torch.randn(30, 8, generator=generator),
        "bert.embeddings.LayerNorm.gamma": torch.rand(8, generator=generator),
        "f16": torch.randn(3, 5, generator=generator).half(),
        "bf16": torch.randn(4, 3, generator=generator).bfloat16(),
        "f64": torch.randn(2, 2, generator=generator).double(),
        "i64": torch.arange(12).reshape(3, 4),
        "i32": torch.arange(-5, 5, dtype=torch.int32),
        "u8": torch.arange(7, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "transposed": base.t(),
        "slice_of_shared": base[2:4],
        "shared_whole": base,
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
    }
    torch.save(state, out_bin)
    save_file({k: v.contiguous().clone() for k, v in state.items()}, out_safetensors)
    json.dump(describe(state), sys.stdout)


def evil(out_bin, global_name, marker):
    """A checkpoint whose pickle calls GLOBAL with a command that would create MARKER:
    "torch" lets torch.save pickle an object reducing to os.system (pickled as
    posix.system); "os.system" / "builtins.eval" write that exact GLOBAL opcode."""
    import os
    import zipfile

    import torch

    command = f"touch {marker}"
    if global_name == "torch":

        class Payload:
            def __reduce__(self):
                return (os.system, (command,))

        torch.save({"weight": torch.zeros(2), "payload": Payload()}, out_bin)
    else:
        module, name = global_name.split(".")
        argument = command if name == "system" else f"__import__('os').system({command!r})"
        encoded = argument.encode()
        pickle = (
            b"\x80\x02c" + f"{module}\n{name}\n".encode()
            + b"X" + len(encoded).to_bytes(4, "little") + encoded + b"\x85R."
        )
        with zipfile.ZipFile(out_bin, "w") as archive:
            archive.writestr("evil/data.pkl", pickle)
            archive.writestr("evil/byteorder", "little")
            archive.writestr("evil/version", "3\n")
    json.dump({"written": out_bin}, sys.stdout)


def summary(path):
    from safetensors.torch import load_file

    json.dump(describe(load_file(path)), sys.stdout)


def load_dir(directory, text):
    from transformers import BertForSequenceClassification, BertTokenizer
    from transformers.utils import logging

    logging.set_verbosity_error()
    model, info = BertForSequenceClassification.from_pretrained(directory, output_loading_info=True)
    tokenizer = BertTokenizer.from_pretrained(directory)
    json.dump(
        {
            "missing": sorted(info["missing_keys"]),
            "unexpected": sorted(info["unexpected_keys"]),
            "mismatched": [list(map(str, m)) for m in info["mismatched_keys"]],
            "id2label": {str(k): v for k, v in model.config.id2label.items()},
            "label2id": dict(model.config.label2id),
            "num_labels": model.config.num_labels,
            "do_lower_case": tokenizer.do_lower_case,
            "input_ids": tokenizer(text)["input_ids"],
            "tensors": {k: v["sum"] for k, v in describe(model.state_dict()).items()},
        },
        sys.stdout,
    )


def main():
    command, args = sys.argv[1], sys.argv[2:]
    {"torch-save": torch_save, "evil": evil, "summary": summary, "load-dir": load_dir}[command](*args)


if __name__ == "__main__":
    main()
