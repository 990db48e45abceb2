"""JAX reference of `pjrt-bert bench`: BertForSequenceClassification + Adam in plain jax.numpy.

The math is that of HF transformers' BertForSequenceClassification in train mode: embeddings
(word + position + token type, LayerNorm, dropout), post-LN encoder layers (self-attention
with HF's additive extended mask (1 - mask) * finfo.min, dropout on the attention
probabilities, erf gelu), pooler dense + tanh on [CLS], dropout, classifier, mean
cross-entropy; LayerNorm eps 1e-12. Parameters are a dict keyed by HF names with Linear
weights [out, in] as torch stores them, so --init loads what torch_bert_step.py --save-init
wrote; without --init they follow HF's init (normal std --init-std, default 0.02, zero biases, [PAD] row of the
word embeddings zero, LayerNorm ones/zeros), drawn from jax.random with --seed.

Adam is torch.optim.Adam exactly (betas 0.9/0.999, eps 1e-8, bias corrections,
p -= lr / bc1 * m / (sqrt(v) / sqrt(bc2) + eps)) on f32 master parameters. One jax.jit
program, with params and optimizer state donated, runs K = --steps-per-call steps with
lax.scan over a [K, B, S] slab of inputs; dropout keys are fold_in(PRNGKey(seed), step).
bf16 casts parameters and activations to bf16 for the matmuls (as torch.autocast does);
LayerNorm, softmax, the loss and all parameter arithmetic stay f32.

    .cache/venv/bin/python bench/reference/jax_bert_step.py --layers 4 --hidden 256 \\
        --heads 4 --intermediate 1024 --vocab 30522 --labels 3 --seq-len 128 --batch-size 32

See common.py for the flags, the inputs and the JSON result.
"""

from __future__ import annotations

import math
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from common import BenchError, cpu_model_name, emit_result, log, main_guard, make_batches, parse_args, time_calls  # noqa: E402

FRAMEWORK = "jax"
LN_EPS = 1e-12
BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
MAX_POSITIONS, TYPE_VOCAB, PAD_ID = 512, 2, 0
BUFFER_SUFFIXES = ("embeddings.position_ids", "embeddings.token_type_ids")
"""Non-parameter entries some HF checkpoints carry; ignored by --init."""


def param_shapes(args) -> dict[str, tuple[int, ...]]:
    """HF parameter names of the model of the flags and their shapes (Linear weights [out, in])."""
    h, i = args.hidden, args.intermediate
    shapes = {
        "bert.embeddings.word_embeddings.weight": (args.vocab, h),
        "bert.embeddings.position_embeddings.weight": (MAX_POSITIONS, h),
        "bert.embeddings.token_type_embeddings.weight": (TYPE_VOCAB, h),
        "bert.embeddings.LayerNorm.weight": (h,),
        "bert.embeddings.LayerNorm.bias": (h,),
    }
    for n in range(args.layers):
        p = f"bert.encoder.layer.{n}."
        for name in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            shapes[p + name + ".weight"] = (h, h)
            shapes[p + name + ".bias"] = (h,)
        shapes[p + "intermediate.dense.weight"] = (i, h)
        shapes[p + "intermediate.dense.bias"] = (i,)
        shapes[p + "output.dense.weight"] = (h, i)
        shapes[p + "output.dense.bias"] = (h,)
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            shapes[p + norm + ".weight"] = (h,)
            shapes[p + norm + ".bias"] = (h,)
    shapes["bert.pooler.dense.weight"] = (h, h)
    shapes["bert.pooler.dense.bias"] = (h,)
    shapes["classifier.weight"] = (args.labels, h)
    shapes["classifier.bias"] = (args.labels,)
    return shapes


def init_params(args, jax, jnp) -> dict:
    """HF's initialization of every parameter, drawn from jax.random.PRNGKey(--seed), f32 on the host."""
    shapes = param_shapes(args)
    keys = jax.random.split(jax.random.PRNGKey(args.seed), len(shapes))
    params = {}
    for key, (name, shape) in zip(keys, shapes.items()):
        if "LayerNorm" in name:
            value = jnp.ones(shape, jnp.float32) if name.endswith(".weight") else jnp.zeros(shape, jnp.float32)
        elif name.endswith(".bias"):
            value = jnp.zeros(shape, jnp.float32)
        else:
            value = args.init_std * jax.random.normal(key, shape, jnp.float32)
            if name == "bert.embeddings.word_embeddings.weight":
                value = value.at[PAD_ID].set(0.0)
        params[name] = value
    return params


def load_params(args, path: str) -> dict:
    """Reads HF-named f32 weights from a safetensors file; every parameter must be there, with its shape."""
    import numpy as np
    from safetensors.numpy import load_file

    try:
        state = load_file(path)
    except Exception as error:  # safetensors raises several types for a bad file
        raise BenchError(f"--init {path}: cannot read safetensors: {error}") from error
    state = {name: value for name, value in state.items() if not name.endswith(BUFFER_SUFFIXES)}
    shapes = param_shapes(args)
    missing = sorted(set(shapes) - set(state))
    unexpected = sorted(set(state) - set(shapes))
    if missing or unexpected:
        raise BenchError(f"--init {path}: missing {missing[:5]}, unexpected {unexpected[:5]}")
    for name, shape in shapes.items():
        if tuple(state[name].shape) != shape:
            raise BenchError(f"--init {path}: {name} has shape {tuple(state[name].shape)}, the model needs {shape}")
    return {name: np.asarray(state[name], dtype=np.float32) for name in shapes}


def make_train_call(args, jax, jnp):
    """Returns train_call(params, m, v, t, ids, mask, types, labels) -> (params, m, v, t, losses[K]).

    Pure function meant for jax.jit: runs one Adam step per leading index of the [K, B, S]
    input slab (lax.scan), t counting the steps already taken.
    """
    compute = jnp.bfloat16 if args.dtype == "bf16" else jnp.float32
    heads, head_dim, p_drop = args.heads, args.hidden // args.heads, args.dropout
    base_key = jax.random.PRNGKey(args.seed)

    def linear(x, params, name):
        """torch Linear: x @ W.T + b, in the compute dtype (autocast casts both operands)."""
        w = params[name + ".weight"].astype(compute)
        b = params[name + ".bias"].astype(compute)
        return jnp.einsum("...i,oi->...o", x.astype(compute), w) + b

    def layer_norm(x, params, name):
        """LayerNorm over the last axis in f32 (biased variance, eps 1e-12), f32 result."""
        x = x.astype(jnp.float32)
        mean = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + LN_EPS) * params[name + ".weight"] + params[name + ".bias"]

    def dropout(x, key):
        """Inverted dropout with probability --dropout (identity at 0)."""
        if p_drop == 0.0:
            return x
        keep = jax.random.bernoulli(key, 1.0 - p_drop, x.shape)
        return jnp.where(keep, x / (1.0 - p_drop), 0.0).astype(x.dtype)

    def gelu(x):
        """Exact (erf) gelu, HF's "gelu"."""
        return 0.5 * x * (1.0 + jax.lax.erf(x / math.sqrt(2.0)).astype(x.dtype))

    def attention(x, ext_mask, params, prefix, keys):
        """HF BertAttention: self-attention with additive mask, dropout on probabilities, output dense, residual + LN."""
        b, s, _ = x.shape

        def split(t):
            return t.reshape(b, s, heads, head_dim).transpose(0, 2, 1, 3)

        q = split(linear(x, params, prefix + "attention.self.query"))
        k = split(linear(x, params, prefix + "attention.self.key"))
        v = split(linear(x, params, prefix + "attention.self.value"))
        scores = jnp.einsum("bhqd,bhkd->bhqk", q, k) / math.sqrt(head_dim)
        probs = jax.nn.softmax(scores.astype(jnp.float32) + ext_mask, axis=-1)
        probs = dropout(probs, keys[0])
        context = jnp.einsum("bhqk,bhkd->bhqd", probs.astype(compute), v)
        context = context.transpose(0, 2, 1, 3).reshape(b, s, heads * head_dim)
        out = dropout(linear(context, params, prefix + "attention.output.dense"), keys[1])
        return layer_norm(out + x, params, prefix + "attention.output.LayerNorm")

    def loss_fn(params, ids, mask, types, labels, key):
        """Mean cross-entropy of BertForSequenceClassification on one batch, f32."""
        s = ids.shape[1]
        keys = iter(jax.random.split(key, 3 + 3 * args.layers))
        x = (jnp.take(params["bert.embeddings.word_embeddings.weight"], ids, axis=0)
             + params["bert.embeddings.position_embeddings.weight"][:s][None]
             + jnp.take(params["bert.embeddings.token_type_embeddings.weight"], types, axis=0))
        x = dropout(layer_norm(x, params, "bert.embeddings.LayerNorm"), next(keys))
        # HF's extended attention mask: 0 where attended, the dtype's lowest value elsewhere.
        ext_mask = (1.0 - mask[:, None, None, :].astype(jnp.float32)) * jnp.finfo(jnp.float32).min
        for n in range(args.layers):
            prefix = f"bert.encoder.layer.{n}."
            x = attention(x, ext_mask, params, prefix, (next(keys), next(keys)))
            hidden = gelu(linear(x, params, prefix + "intermediate.dense"))
            out = dropout(linear(hidden, params, prefix + "output.dense"), next(keys))
            x = layer_norm(out + x, params, prefix + "output.LayerNorm")
        pooled = jnp.tanh(linear(x[:, 0], params, "bert.pooler.dense"))
        logits = linear(dropout(pooled, next(keys)), params, "classifier").astype(jnp.float32)
        log_probs = jax.nn.log_softmax(logits, axis=-1)
        return -jnp.mean(jnp.take_along_axis(log_probs, labels[:, None], axis=-1))

    grad_fn = jax.value_and_grad(loss_fn)

    def adam(params, m, v, t, grads):
        """torch.optim.Adam (single-tensor form) on every parameter; t is the new step count."""
        tf = t.astype(jnp.float32)
        step_size = args.lr / (1.0 - BETA1 ** tf)
        bc2_sqrt = jnp.sqrt(1.0 - BETA2 ** tf)
        new_p, new_m, new_v = {}, {}, {}
        for name, g in grads.items():
            mi = m[name] + (g - m[name]) * (1.0 - BETA1)
            vi = v[name] * BETA2 + (1.0 - BETA2) * g * g
            new_p[name] = params[name] - step_size * mi / (jnp.sqrt(vi) / bc2_sqrt + ADAM_EPS)
            new_m[name], new_v[name] = mi, vi
        return new_p, new_m, new_v

    def train_call(params, m, v, t, ids, mask, types, labels):
        """K Adam steps over the slab; returns the new state and the K losses."""

        def one_step(carry, batch):
            params, m, v, t = carry
            key = jax.random.fold_in(base_key, t)
            loss, grads = grad_fn(params, *batch, key)
            t = t + 1
            params, m, v = adam(params, m, v, t, grads)
            return (params, m, v, t), loss

        (params, m, v, t), losses = jax.lax.scan(one_step, (params, m, v, t), (ids, mask, types, labels))
        return params, m, v, t, losses

    return train_call


def main() -> None:
    """Parses the flags, builds params and inputs, compiles and times the jitted calls, prints the result."""
    args = parse_args(FRAMEWORK)
    if args.device == "cpu":
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp

    try:
        device = jax.devices("gpu" if args.device == "cuda" else "cpu")[0]
    except RuntimeError as error:
        raise BenchError(f"--device {args.device}: jax has no such backend "
                         f"(CUDA needs the jax[cuda] plugin wheels): {error}") from error
    device_name = cpu_model_name() if args.device == "cpu" else device.device_kind

    start = time.perf_counter()
    with jax.default_device(device):
        params = load_params(args, args.init) if args.init else init_params(args, jax, jnp)
    params = jax.device_put(params, device)
    m = jax.tree.map(jnp.zeros_like, params)
    v = jax.tree.map(jnp.zeros_like, params)
    t = jax.device_put(jnp.zeros((), jnp.int32), device)
    jax.block_until_ready((params, m, v, t))
    n_params = sum(int(p.size) for p in params.values())
    log(f"{FRAMEWORK}: parameters ready in {time.perf_counter() - start:.2f} s ({n_params / 1e6:.2f} M parameters)")

    calls, k = args.warmup + args.steps, args.steps_per_call
    batches = make_batches(args, calls * k)

    def slab(array, call):
        """The [K, ...] int32 inputs of call `call`, on the device."""
        return jax.device_put(array[call * k:(call + 1) * k].astype("int32"), device)

    # Inputs go to the device before any timing, as the pjrt-bert side does.
    inputs = [
        tuple(slab(a, c) for a in (batches.input_ids, batches.attention_mask, batches.token_type_ids, batches.labels))
        for c in range(calls)
    ]
    jax.block_until_ready(inputs)

    state = [params, m, v, t]
    compiled = {}

    def run_call(call: int):
        """One jitted call of K steps (compiled on the first call); returns its losses once finished."""
        if "fn" not in compiled:
            begin = time.perf_counter()
            jitted = jax.jit(make_train_call(args, jax, jnp), donate_argnums=(0, 1, 2, 3))
            compiled["fn"] = jitted.lower(*state, *inputs[0]).compile()
            compiled["compile_s"] = time.perf_counter() - begin
            log(f"{FRAMEWORK}: lowered and compiled in {compiled['compile_s']:.2f} s")
        *new_state, losses = compiled["fn"](*state, *inputs[call])
        jax.block_until_ready((new_state, losses))
        state[:] = new_state
        return losses

    timing, losses = time_calls(run_call, args, FRAMEWORK)
    stats = device.memory_stats() if args.device == "cuda" else None
    peak_device_mb = stats["peak_bytes_in_use"] / 2**20 if stats and "peak_bytes_in_use" in stats else None
    emit_result(
        args,
        framework=FRAMEWORK,
        version=jax.__version__,
        device=device_name,
        timing=timing,
        compile_s=compiled["compile_s"],
        peak_device_mb=peak_device_mb,
        threads=None,
        losses=[float(x) for call_losses in losses for x in jax.device_get(call_losses)],
    )


if __name__ == "__main__":
    main_guard(main)
