#!/usr/bin/env python3
"""How much memory training needs, by arithmetic: 124M to 70B parameters vs one GPU and one server.

Tests claim C3.2 of the article: parameters and intermediate results take a lot of
memory. Nothing is timed or allocated here (the output says "kind": "arithmetic"): the
bytes that mixed-precision training with AdamW keeps per parameter are multiplied out for
four model sizes and set against one GPU's memory (H100 80 GB, H200 141 GB) and one
8-GPU server's. For the small GPT of gpt_train.py the same formulas give an estimate that
its measured peak memory can be checked against.

Copy and run (only the standard library and torch are needed; it takes under a second):

    python train_memory.py
    python train_memory.py --device cpu --quick      # same numbers; flags kept for uniformity
    python train_memory.py --out train_memory.json

Prints one JSON object to stdout (or to --out). Progress lines go to stderr.

Bytes per parameter, mixed precision (bf16 compute, fp32 master weights) with AdamW:
    bf16 weights 2 + bf16 grads 2 + fp32 master weights 4 + AdamW m 4 + AdamW v 4 = 16
(the same 16 as fp32 weights + fp32 grads + two fp32 moments, the way gpt_train.py runs).
Activations, listed separately, per sequence of seq_len tokens (micro-batch 1), bf16:
    34 * seq_len * d_model * n_layer bytes       (17 values per token, channel and layer,
                                                  2 bytes each; flash attention, no dropout)
    + 12 * seq_len * vocab bytes                 (fp32 log-softmax and logits gradients)
With full activation checkpointing only each layer's bf16 input is kept (2 * s * d * L)
plus one layer recomputed at a time (34 * s * d) and the head. These are rough: real
frameworks add temporary buffers, fragmentation and communication buffers.
"""
import argparse
import json
import math
import sys

import torch

METHOD_VERSION = 1
GIB = 2 ** 30

# Bytes per parameter kept for the whole run (see the module docstring).
BYTES_PER_PARAM = {"bf16_weights": 2, "bf16_grads": 2, "fp32_master_weights": 4,
                   "adamw_m_fp32": 4, "adamw_v_fp32": 4}
# Published shapes; parameter counts rounded as the models are named.
MODELS = [
    {"name": "GPT-2 small", "n_params": 124_000_000, "n_layer": 12, "d_model": 768,
     "seq_len": 1024, "vocab_size": 50257},
    {"name": "GPT-3 XL", "n_params": 1_300_000_000, "n_layer": 24, "d_model": 2048,
     "seq_len": 2048, "vocab_size": 50257},
    {"name": "Llama-2 7B", "n_params": 7_000_000_000, "n_layer": 32, "d_model": 4096,
     "seq_len": 4096, "vocab_size": 32000},
    {"name": "Llama-2 70B", "n_params": 70_000_000_000, "n_layer": 80, "d_model": 8192,
     "seq_len": 4096, "vocab_size": 32000},
]
# Datasheet memory per GPU. NVIDIA's "80GB" / "141GB" are close to GiB (2^30 bytes); torch
# reports a little less as usable (about 79 GiB on an H100 80GB, 140 GiB on an H200).
GPUS = [{"name": "H100 80GB", "memory_gib": 80}, {"name": "H200 141GB", "memory_gib": 141}]
GPUS_PER_SERVER = 8

# gpt_train.py's model sizes, repeated here (a snippet imports no other project file).
SMALL_GPT = {
    "quick": dict(n_layer=2, d_model=64, seq_len=64, batch_size=4, vocab_size=512, bf16=False),
    "cpu": dict(n_layer=4, d_model=256, seq_len=256, batch_size=8, vocab_size=8192, bf16=False),
    "cuda": dict(n_layer=12, d_model=768, seq_len=1024, batch_size=8, vocab_size=50304,
                 bf16=True),
}


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def activations_per_sequence(m):
    """Bytes of activations for one sequence, bf16, with and without checkpointing."""
    s, d, L, V = m["seq_len"], m["d_model"], m["n_layer"], m["vocab_size"]
    head = 12 * s * V
    return {"activations_per_seq_bytes": 34 * s * d * L + head,
            "activations_per_seq_checkpointed_bytes": 2 * s * d * L + 34 * s * d + head}


def model_row(m, gpus):
    states = sum(BYTES_PER_PARAM.values()) * m["n_params"]
    row = {**m, "states_bytes": states, "states_gib": states / GIB,
           # for scale: the bf16 weights alone, all that inference needs to hold
           "weights_bf16_gib": 2 * m["n_params"] / GIB,
           **activations_per_sequence(m), "gpus": {}}
    for g in gpus:
        gpu_bytes = g["memory_gib"] * GIB
        # Fewest GPUs whose memory holds the states when they are sharded evenly across
        # them (ZeRO-3 / FSDP); plain data parallelism keeps a full copy on every GPU.
        min_gpus = math.ceil(states / gpu_bytes)
        row["gpus"][g["name"]] = {
            "states_share_of_one_gpu": states / gpu_bytes,
            "states_fit_one_gpu": states <= gpu_bytes,
            "states_fit_one_server": states <= GPUS_PER_SERVER * gpu_bytes,
            "min_gpus_for_states": min_gpus,
            # what is left per GPU for activations, buffers and the CUDA context
            "left_per_gpu_at_min_gib": (min_gpus * gpu_bytes - states) / min_gpus / GIB,
            "left_per_gpu_on_one_server_gib": (GPUS_PER_SERVER * gpu_bytes - states)
                                              / GPUS_PER_SERVER / GIB}
    return row


def small_gpt_estimate(cfg):
    """gpt_train.py's memory estimate for its model (same formula as its memory_estimate).

    Parameters: V*d + s*d + L*(12 d^2 + 4 d) + 2 d; all fp32, so weights + grads + two
    AdamW moments = 16 bytes each; bf16 autocast adds a bf16 copy of the matmul weights
    (2 * (12 L d^2 + V d)). Activations: batch * seq * ((68 fp32 | 38 bf16) * L * d +
    (8 | 6) * d + 12 * V) bytes.
    """
    L, d, s, V, b = (cfg[k] for k in ("n_layer", "d_model", "seq_len", "vocab_size",
                                       "batch_size"))
    n_params = V * d + s * d + L * (12 * d * d + 4 * d) + 2 * d
    n_matmul = 12 * L * d * d + V * d
    bf16 = cfg["bf16"]
    casts = 2 * n_matmul if bf16 else 0
    activations = b * s * ((38 if bf16 else 68) * L * d + (6 if bf16 else 8) * d + 12 * V)
    return {**cfg, "n_params": n_params, "states_bytes": 16 * n_params,
            "autocast_weight_copies_bytes": casts, "activations_bytes": activations,
            "total_bytes": 16 * n_params + casts + activations}


def measure(device="cpu", quick=False):
    """All the arithmetic; `device` and `quick` change nothing (a CUDA device adds a row)."""
    gpus = list(GPUS)
    device = torch.device(device)
    if device.type == "cuda":  # this GPU too, with the memory torch says it has
        p = torch.cuda.get_device_properties(device)
        gpus.append({"name": f"this GPU ({p.name})", "memory_gib": p.total_memory / GIB})
    rows = [model_row(m, gpus) for m in MODELS]
    for r in rows:
        h = r["gpus"][GPUS[0]["name"]]
        log(f"{r['name']:12s} {r['states_gib']:8.1f} GiB of weights, grads and AdamW states: "
            f"{h['min_gpus_for_states']} x {GPUS[0]['name']} at least; activations "
            f"{r['activations_per_seq_bytes'] / GIB:.1f} GiB per sequence")
    return {"kind": "arithmetic",
            "bytes_per_param": {**BYTES_PER_PARAM, "total": sum(BYTES_PER_PARAM.values())},
            "assumptions": {
                "states": "mixed precision with AdamW: bf16 weights and grads, fp32 master "
                          "weights and two fp32 moments; sharded evenly (ZeRO-3 / FSDP) for "
                          "min_gpus_for_states",
                "activations": "per sequence (micro-batch 1) at the model's seq_len, bf16: "
                               "34 * s * d * L + 12 * s * V bytes; checkpointed: "
                               "2 * s * d * L + 34 * s * d + 12 * s * V; GPT-style block, "
                               "flash attention, no dropout; rough for Llama (SwiGLU, GQA)",
                "gib": "GiB = 2^30 bytes; GPU memory as in the datasheet"},
            "gpus": gpus, "gpus_per_server": GPUS_PER_SERVER, "models": rows,
            "small_gpt": {k: small_gpt_estimate(c) for k, c in SMALL_GPT.items()}}


def describe_device(device):
    device = torch.device(device)
    if device.type == "cuda":
        p = torch.cuda.get_device_properties(device)
        return {"type": "cuda", "name": p.name, "capability": f"{p.major}.{p.minor}"}
    return {"type": "cpu", "name": "cpu", "threads": torch.get_num_threads()}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default=None, choices=["cpu", "cuda"],
                    help="recorded only (default: cuda if available, else cpu); on cuda the "
                         "GPU's own memory is added as a column")
    ap.add_argument("--quick", action="store_true",
                    help="accepted for uniformity with the other snippets; changes nothing")
    ap.add_argument("--out", default=None, help="write the JSON here instead of stdout")
    args = ap.parse_args(argv)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA GPU is visible to torch")
    result = {"snippet": "train_memory", "method_version": METHOD_VERSION, "quick": args.quick,
              "device": describe_device(device), **measure(device, quick=args.quick)}
    text = json.dumps(result, indent=2, sort_keys=True)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
