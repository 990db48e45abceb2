"""Python side of test/modernbert.test.ts: pieces of transformers' ModernBERT computed by transformers
itself, to check ours against piece by piece (the whole model is checked by family_reference.py).

Subcommands (a JSON request on stdin, a JSON result on stdout):
  rotary   request {head_dims, global_rope_theta, local_rope_theta, positions}: cos and sin of
           ModernBertRotaryEmbedding (float32) at `positions`, per head size and layer kind:
           {"8": {"full_attention": {"cos": [[...]], "sin": [[...]]}, "sliding_attention": {...}}, ...}
  masks    request {local_attentions, attention_mask}: the eager attention masks ModernBertModel
           builds (create_bidirectional_mask / create_bidirectional_sliding_window_mask) for each
           window, as 0/1 [B][S][S] (1: the query may attend to the key; None, no mask, is all ones):
           {"8": {"full_attention": [...], "sliding_attention": [...]}, ...}
"""
import json
import sys
import warnings

warnings.filterwarnings("ignore")


def config_of(head_dim=8, **extra):
    from transformers import ModernBertConfig

    heads = 2
    config = ModernBertConfig(
        vocab_size=16,
        hidden_size=head_dim * heads,
        num_attention_heads=heads,
        num_hidden_layers=2,
        intermediate_size=8,
        pad_token_id=0,
        bos_token_id=1,
        eos_token_id=2,
        cls_token_id=1,
        sep_token_id=2,
        **extra,
    )
    config._attn_implementation = "eager"
    return config


def rotary():
    import torch
    from transformers.models.modernbert.modeling_modernbert import ModernBertRotaryEmbedding

    request = json.loads(sys.stdin.read())
    positions = torch.tensor([request["positions"]], dtype=torch.long)
    x = torch.zeros(1, dtype=torch.float32)
    result = {}
    for head_dim in request["head_dims"]:
        config = config_of(head_dim, global_rope_theta=request["global_rope_theta"], local_rope_theta=request["local_rope_theta"], max_position_embeddings=8192)
        module = ModernBertRotaryEmbedding(config)
        result[str(head_dim)] = {}
        for kind in ("full_attention", "sliding_attention"):
            cos, sin = module(x, positions, kind)
            result[str(head_dim)][kind] = {"cos": cos[0].tolist(), "sin": sin[0].tolist()}
    return result


def masks():
    import torch
    from transformers.masking_utils import create_bidirectional_mask, create_bidirectional_sliding_window_mask

    request = json.loads(sys.stdin.read())
    attention_mask = torch.tensor(request["attention_mask"], dtype=torch.long)
    batch, seq = attention_mask.shape
    result = {}
    for local_attention in request["local_attentions"]:
        config = config_of(local_attention=local_attention)
        embeds = torch.zeros(batch, seq, config.hidden_size)
        result[str(local_attention)] = {}
        for name, make in (("full_attention", create_bidirectional_mask), ("sliding_attention", create_bidirectional_sliding_window_mask)):
            mask = make(config=config, inputs_embeds=embeds, attention_mask=attention_mask)
            allowed = torch.ones(batch, seq, seq, dtype=torch.bool) if mask is None else (mask[:, 0] == 0)
            result[str(local_attention)][name] = allowed.int().tolist()
    return result


if __name__ == "__main__":
    json.dump({"rotary": rotary, "masks": masks}[sys.argv[1]](), sys.stdout)
