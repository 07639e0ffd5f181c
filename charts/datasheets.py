"""Published peak figures, NOT measured here. Shown next to our measurements, always
labelled with their source. Keyed by a substring of torch.cuda.get_device_name()."""

NVIDIA_H100 = ("NVIDIA H100 Tensor Core GPU datasheet, H100 SXM column "
               "(https://www.nvidia.com/en-us/data-center/h100/)")
NVIDIA_H200 = ("NVIDIA H200 Tensor Core GPU datasheet, H200 SXM column "
               "(https://www.nvidia.com/en-us/data-center/h200/)")

DATASHEETS = [
    # match, name, source, dense tensor TFLOP/s by dtype (sparse = 2x for tf32/bf16/fp16/fp8),
    # memory bandwidth GB/s
    {"match": "H100", "name": "H100 SXM", "source": NVIDIA_H100,
     "tflops": {"fp64": 67, "fp32": 67, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9},
     "sparse_tflops": {"tf32": 989.4, "bf16": 1978.9, "fp16": 1978.9, "fp8": 3957.8},
     "gb_per_s": 3350},
    {"match": "H200", "name": "H200 SXM", "source": NVIDIA_H200,
     "tflops": {"fp64": 67, "fp32": 67, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4, "fp8": 1978.9},
     "sparse_tflops": {"tf32": 989.4, "bf16": 1978.9, "fp16": 1978.9, "fp8": 3957.8},
     "gb_per_s": 4800},
]


def datasheet_for(gpu_name):
    """The datasheet entry for a GPU name, or None (CPUs and unknown GPUs)."""
    for entry in DATASHEETS:
        if gpu_name and entry["match"] in gpu_name:
            return entry
    return None
