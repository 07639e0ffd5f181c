import importlib.util
import json
import math
import subprocess
import sys

import pytest
import torch

from conftest import SNIPPETS, run_snippet, snippet_help


def load_snippet():
    spec = importlib.util.spec_from_file_location("allreduce", SNIPPETS / "allreduce.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check_group(group, sizes_bytes):
    """Structure and internal consistency of one group of ranks that ran."""
    n = group["world_size"]
    assert group["status"] == "ok", group
    pts = group["sizes"]
    # The sweep may stop early on a slow machine, but only from the large end.
    assert 3 <= len(pts) <= len(sizes_bytes)
    assert [p["bytes"] for p in pts] == sizes_bytes[:len(pts)]
    for p in pts:
        assert p["check"] == "ok", p  # the sum over ranks was right before it was timed
        assert p["elements"] * 4 == p["bytes"]  # float32
        assert p["runs"] >= 5 and p["iters_per_run"] >= 1
        for v in p.values():
            assert isinstance(v, str) or math.isfinite(v)
        assert 0 < p["min_s"] <= p["median_s"] <= p["max_s"]
        assert 0 <= p["iqr_s"] <= p["max_s"] - p["min_s"]
        # nccl-tests' definitions: algbw = S / t, busbw = algbw * 2(n-1)/n, in 1e9 B/s.
        assert p["algbw_gb_per_s_median"] == pytest.approx(p["bytes"] / p["median_s"] / 1e9)
        assert p["algbw_gb_per_s_max"] == pytest.approx(p["bytes"] / p["min_s"] / 1e9)
        assert p["algbw_gb_per_s_min"] == pytest.approx(p["bytes"] / p["max_s"] / 1e9)
        for k in ("min", "median", "max"):
            assert p[f"busbw_gb_per_s_{k}"] == pytest.approx(
                p[f"algbw_gb_per_s_{k}"] * 2 * (n - 1) / n)
        assert p["algbw_gb_per_s_min"] <= p["algbw_gb_per_s_median"] <= p["algbw_gb_per_s_max"]
    best = max(pts, key=lambda p: p["busbw_gb_per_s_median"])
    assert group["peak"] == {"bytes": best["bytes"], "busbw_gb_per_s": best["busbw_gb_per_s_median"],
                             "algbw_gb_per_s": best["algbw_gb_per_s_median"]}
    # The latency is the fitted alpha of T(S) = alpha + S / beta, not the smallest message's
    # median; the fit's stated worst residual holds for every point.
    fit = group["fit"]
    assert group["latency_s"] == fit["alpha_s"] >= 0
    assert group["smallest_message_s"] == pts[0]["median_s"]
    assert fit["points"] == len(pts) and fit["beta_bytes_per_s"] > 0
    assert fit["busbw_gb_per_s"] == pytest.approx(fit["algbw_gb_per_s"] * 2 * (n - 1) / n)
    for p in pts:
        model = fit["alpha_s"] + p["bytes"] / fit["beta_bytes_per_s"]
        assert abs(model - p["median_s"]) / p["median_s"] <= fit["max_rel_residual"] + 1e-12
    assert group["wall_s"] > 0


def test_help_names_every_flag():
    text = snippet_help("allreduce")
    for flag in ("--device", "--quick", "--world-sizes", "--out"):
        assert flag in text


def test_quick_cpu_json():
    data, err = run_snippet("allreduce", "--device", "cpu", "--quick")
    assert data["snippet"] == "allreduce" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    assert data["backend"] == "gloo" and data["status"] == "ok" and data["dtype"] == "float32"
    sizes = data["sizes_bytes"]
    assert sizes == sorted(sizes) and sizes[0] == 4096
    groups = {g["world_size"]: g for g in data["groups"]}
    assert set(groups) == {2, 4}
    check_group(groups[2], sizes)
    # 4 ranks are not run in --quick: skipped, with the reason, not silently missing.
    assert groups[4]["status"] == "skipped" and "quick" in groups[4]["reason"]
    assert "gloo, 2 ranks" in err


def test_three_ranks_to_out_file(tmp_path):
    # n = 3 makes busbw differ from algbw (factor 4/3), so the formula is really checked.
    out = tmp_path / "a.json"
    printed, _ = run_snippet("allreduce", "--device", "cpu", "--quick", "--world-sizes", "3",
                             "--out", str(out))
    assert printed is None  # with --out, stdout stays empty (the ranks' output included)
    data = json.loads(out.read_text())
    assert [g["world_size"] for g in data["groups"]] == [3]
    check_group(data["groups"][0], data["sizes_bytes"])
    p = data["groups"][0]["sizes"][0]
    assert p["busbw_gb_per_s_median"] == pytest.approx(p["algbw_gb_per_s_median"] * 4 / 3)


def test_spread_by_hand():
    mod = load_snippet()
    s = mod.spread([0.5, 0.1, 0.3, 0.2, 0.4], 1e9, 4)
    assert (s["runs"], s["min_s"], s["median_s"], s["max_s"]) == (5, 0.1, 0.3, 0.5)
    assert s["algbw_gb_per_s_median"] == pytest.approx(1 / 0.3)
    assert s["busbw_gb_per_s_median"] == pytest.approx(1 / 0.3 * 1.5)  # 2 * 3 / 4
    assert s["algbw_gb_per_s_max"] == pytest.approx(10.0)


@pytest.mark.skipif(torch.cuda.device_count() >= 2, reason="with 2+ GPUs NCCL really runs")
def test_nccl_skipped_with_reason():
    res = load_snippet().measure("cuda", quick=True)
    assert res["backend"] == "nccl" and res["status"] == "skipped" and res["groups"] == []
    assert "NCCL" in res["reason"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_gpu_is_an_argument_error():
    proc = subprocess.run([sys.executable, str(SNIPPETS / "allreduce.py"), "--device", "cuda"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no CUDA GPU" in proc.stderr and not proc.stdout
