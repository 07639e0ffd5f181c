"""Published peak figures of GPUs, NOT measured here: the one table of them in the project.

Shown next to our measurements, always labelled with their source; used as the physical bound
that no measured figure of that GPU may pass. NVIDIA's datasheets print tensor-core rates with
2:4 structured sparsity; the dense rate is half of it, and both are kept, labelled.

A GPU is matched by its whole model name in torch.cuda.get_device_name(), the most specific
first: "NVIDIA H100 NVL" is an H100 NVL, "NVIDIA H100 PCIe" an H100 PCIe, and only then
"NVIDIA H100 80GB HBM3" the SXM part; "H200 NVL" before "H200"; "A10" never matches "A100".
snippets/gpt_train.py keeps its own copy of the dense peaks (a snippet stands alone); a test
checks that the two agree.
"""
import re

_NV = "https://www.nvidia.com/en-us/data-center/"


def _sheet(model, pattern, url, column, sparse, fp32, fp64, gb_per_s, memory_gb, l2_mb=None,
           nvlink_gb_per_s=None):
    """One entry: `sparse` are the datasheet's tensor-core figures with sparsity (TFLOP/s);
    memory_gb as the datasheet prints it (GB = 10^9 bytes); nvlink_gb_per_s the datasheet's
    NVLink figure per GPU, both directions together (None: no NVLink)."""
    dense = {k: v / 2 for k, v in sparse.items()}
    return {"name": model, "pattern": pattern,
            "source": f"NVIDIA {model} datasheet, {column} ({url})",
            "tflops": {"fp64": fp64, "fp32": fp32, **dense},   # dense
            "sparse_tflops": dict(sparse),
            "gb_per_s": gb_per_s, "memory_gb": memory_gb, "l2_mb": l2_mb,
            "nvlink_gb_per_s": nvlink_gb_per_s, "url": url}


_HOPPER_SXM = {"tf32": 989, "bf16": 1979, "fp16": 1979, "fp8": 3958}
_HOPPER_NVL = {"tf32": 835, "bf16": 1671, "fp16": 1671, "fp8": 3341}

# Most specific pattern first: the first match wins.
DATASHEETS = [
    _sheet("H200 NVL", r"H200 NVL", _NV + "h200/", "H200 NVL column", _HOPPER_NVL,
           fp32=60, fp64=60, gb_per_s=4800, memory_gb=141, l2_mb=60, nvlink_gb_per_s=900),
    _sheet("H200 SXM", r"H200", _NV + "h200/", "H200 SXM column", _HOPPER_SXM,
           fp32=67, fp64=67, gb_per_s=4800, memory_gb=141, l2_mb=60, nvlink_gb_per_s=900),
    _sheet("H100 NVL", r"H100 NVL", _NV + "h100/", "H100 NVL column", _HOPPER_NVL,
           fp32=60, fp64=60, gb_per_s=3900, memory_gb=94, l2_mb=50, nvlink_gb_per_s=600),
    _sheet("H100 PCIe", r"H100 PCIe", _NV + "h100/", "H100 PCIe column",
           {"tf32": 756, "bf16": 1513, "fp16": 1513, "fp8": 3026},
           fp32=51, fp64=51, gb_per_s=2000, memory_gb=80, l2_mb=50, nvlink_gb_per_s=600),
    _sheet("H100 SXM", r"H100", _NV + "h100/", "H100 SXM column", _HOPPER_SXM,
           fp32=67, fp64=67, gb_per_s=3350, memory_gb=80, l2_mb=50, nvlink_gb_per_s=900),
    # A100: the 80 GB SXM part's bandwidth, the highest of its variants (40 GB: 1,555 GB/s).
    _sheet("A100", r"A100", _NV + "a100/", "A100 80GB SXM column",
           {"tf32": 312, "bf16": 624, "fp16": 624},
           fp32=19.5, fp64=19.5, gb_per_s=2039, memory_gb=80, l2_mb=40, nvlink_gb_per_s=600),
    _sheet("L40S", r"L40S", _NV + "l40s/", "L40S column",
           {"tf32": 366, "bf16": 733, "fp16": 733, "fp8": 1466},
           fp32=91.6, fp64=None, gb_per_s=864, memory_gb=48, l2_mb=96),
    _sheet("L4", r"L4", _NV + "l4/", "L4 column",
           {"tf32": 120, "bf16": 242, "fp16": 242, "fp8": 485},
           fp32=30.3, fp64=None, gb_per_s=300, memory_gb=24, l2_mb=48),
    _sheet("A10", r"A10", _NV + "products/a10-gpu/", "A10 column",
           {"tf32": 125, "bf16": 250, "fp16": 250},
           fp32=31.2, fp64=None, gb_per_s=600, memory_gb=24, l2_mb=6),
]


def _whole(pattern):
    # A whole model name: "A10" matches neither "A100" nor "A10G", "L4" not "L40S".
    return re.compile(r"(?<![A-Za-z0-9])" + pattern + r"(?![A-Za-z0-9])", re.I)


_COMPILED = [(_whole(e["pattern"]), e) for e in DATASHEETS]


def datasheet_for(gpu_name):
    """The datasheet entry for a GPU name, or None (CPUs and unknown GPUs)."""
    if not gpu_name:
        return None
    return next((e for rx, e in _COMPILED if rx.search(gpu_name)), None)


def by_name(model):
    """The entry whose name is exactly `model` ("H100 SXM"); KeyError names the known ones."""
    for e in DATASHEETS:
        if e["name"] == model:
            return e
    raise KeyError(f"no datasheet entry named {model!r} (known: {', '.join(e['name'] for e in DATASHEETS)})")


# Host links, from their specifications (not measured). PCIe: transfer rate x lanes x line
# code / 8 bits, one direction; NVIDIA's datasheets print the sum of both directions.
LINKS = {
    "pcie5_x16": {"name": "PCIe Gen5 x16", "gt_per_s": 32, "lanes": 16, "encoding": 128 / 130,
                  "gb_per_s": 32 * 16 * (128 / 130) / 8,
                  "formula": "32 GT/s × 16 lanes × 128/130 ÷ 8 bits",
                  "source": "PCI-SIG, PCI Express Base Specification 5.0 (https://pcisig.com/specifications)"},
}
