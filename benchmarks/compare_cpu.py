#!/usr/bin/env python3
"""Are the snippets' CPU figures as good as this CPU can do? Side by side, in one run.

    python benchmarks/compare_cpu.py [--rounds 5]

Interleaves, round after round (so that drift and noise hit every contender alike):
  * snippets/matmul.py --device cpu --dtypes fp32   (the figure the page shows: the best
    of torch's and numpy's fp32, at the snippet's sizes)
  * numpy's own BLAS at the same sizes, timed here independently (best of repeats)
  * snippets/bandwidth.py --device cpu              (its best kernel, GB/s)
  * benchmarks/stream.c, built with gcc -O3 -fopenmp -march=native (best of its kernels:
    read, update in place, copy, triad)
and prints the medians over rounds and the ratios the project's goals ask for:
page fp32 figure >= 95% of numpy's best, snippet bandwidth >= 90% of STREAM in C.
Speed is shown here, never asserted in tests.
"""
import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
HERE = pathlib.Path(__file__).resolve().parent


def snippet(name, *args):
    proc = subprocess.run([sys.executable, str(ROOT / "snippets" / f"{name}.py"), *args],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)


def numpy_best_tflops(sizes, repeats=5):
    import numpy as np
    rng = np.random.default_rng(0)
    best = 0.0
    for n in sizes:
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        a @ b  # warm-up
        k = max(1, int(0.2 / max(2 * n ** 3 / 2e11, 1e-6)))  # about 0.2 s per repeat
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(k):
                a @ b
            times.append((time.perf_counter() - t0) / k)
        best = max(best, 2 * n ** 3 / statistics.median(times) / 1e12)
    return best


def stream_best(mib):
    exe = HERE / "stream"
    src = HERE / "stream.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        subprocess.run(["gcc", "-O3", "-fopenmp", "-march=native", str(src), "-o", str(exe)],
                       check=True)
    out = json.loads(subprocess.run([str(exe), str(mib), "10"], capture_output=True, text=True,
                                    check=True).stdout)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    args = ap.parse_args()
    rows = {k: [] for k in ("page_fp32", "torch_fp32", "snippet_numpy_fp32", "numpy_fp32",
                            "snippet_bw", "stream_bw", "snippet_triad", "stream_triad",
                            "snippet_read", "stream_read", "snippet_copy", "stream_copy",
                            "snippet_update", "stream_update")}
    for r in range(args.rounds):
        mm = snippet("matmul", "--device", "cpu", "--dtypes", "fp32")
        torch_fp32 = mm["dtypes"]["fp32"]["best"]["tflops"]
        snp_np = mm["numpy"]["fp32"]["best"]["tflops"] if mm.get("numpy") else 0.0
        rows["torch_fp32"].append(torch_fp32)
        rows["snippet_numpy_fp32"].append(snp_np)
        rows["page_fp32"].append(max(torch_fp32, snp_np))
        rows["numpy_fp32"].append(numpy_best_tflops(mm["sizes"]))
        bw = snippet("bandwidth", "--device", "cpu")
        mib = bw["buffer_bytes"] // 2 ** 20
        rows["snippet_bw"].append(bw["best_gb_per_s"])
        rows["snippet_triad"].append(bw["kernels"]["triad"]["gb_per_s"])
        st = stream_best(mib)
        rows["stream_bw"].append(max(st["copy_gb_per_s"], st["triad_gb_per_s"], st["read_gb_per_s"],
                                     st["update_gb_per_s"]))
        rows["stream_triad"].append(st["triad_gb_per_s"])
        for k in ("read", "copy", "update"):
            rows[f"snippet_{k}"].append(bw["kernels"][k]["gb_per_s"])
            rows[f"stream_{k}"].append(st[f"{k}_gb_per_s"])
        print(f"round {r + 1}: page fp32 {rows['page_fp32'][-1] * 1e3:.0f} GFLOP/s "
              f"(torch {torch_fp32 * 1e3:.0f}), numpy {rows['numpy_fp32'][-1] * 1e3:.0f}; "
              f"bandwidth snippet {bw['best_gb_per_s']:.1f} GB/s, STREAM-C {rows['stream_bw'][-1]:.1f} "
              f"(triad {st['triad_gb_per_s']:.1f}, {mib} MiB arrays)", flush=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print("\nmedians over rounds:")
    for k, v in med.items():
        unit = "TFLOP/s" if "fp32" in k else "GB/s"
        print(f"  {k:20s} {v:10.4f} {unit}")
    print("\nratios (goal):")
    print(f"  page fp32 / numpy fp32     {med['page_fp32'] / med['numpy_fp32']:.3f}  (>= 0.95)")
    print(f"  torch fp32 / numpy fp32    {med['torch_fp32'] / med['numpy_fp32']:.3f}  (torch's own path)")
    print(f"  snippet best / STREAM best {med['snippet_bw'] / med['stream_bw']:.3f}  (>= 0.90)")
    for k in ("read", "update", "copy", "triad"):
        print(f"  snippet {k:6s} / STREAM {k:6s} {med[f'snippet_{k}'] / med[f'stream_{k}']:.3f}")


if __name__ == "__main__":
    main()
