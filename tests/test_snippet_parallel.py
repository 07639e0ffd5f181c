import json
import math

import pytest

from conftest import run_snippet, snippet_help


@pytest.fixture(scope="module")
def quick_cpu():
    data, err = run_snippet("parallel", "--device", "cpu", "--quick")
    return data, err


def check_spread(p):
    assert p["runs"] >= 5
    assert 0 < p["min_s"] <= p["median_s"] <= p["max_s"]
    assert all(math.isfinite(p[k]) for k in ("min_s", "median_s", "max_s", "iqr_s"))
    assert 0 <= p["iqr_s"] <= p["max_s"] - p["min_s"]


def test_help_names_every_flag():
    text = snippet_help("parallel")
    for flag in ("--device", "--quick", "--out"):
        assert flag in text


def test_quick_cpu_header(quick_cpu):
    data, err = quick_cpu
    assert data["snippet"] == "parallel" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    assert "elementwise" in err and "conv2d" in err  # progress goes to stderr


def test_grids_are_prefixes_of_the_cuda_grids(quick_cpu):
    # The page compares CPU and CUDA at equal sizes: the grids must be powers of two
    # starting at the same point, so the shorter one is a prefix of the longer.
    data, _ = quick_cpu
    elems, batches = data["sizes"]["elements"], data["sizes"]["batches"]
    assert elems[0] == 2 ** 10 and all(e & (e - 1) == 0 for e in elems)
    assert batches == [1, 2, 4]
    assert [p["elements"] for p in data["elementwise"]["points"]] == elems
    assert [p["batch"] for p in data["conv"]["points"]] == batches


def test_elementwise_points(quick_cpu):
    data, _ = quick_cpu
    ew = data["elementwise"]
    assert ew["bytes_per_element"] == 12 and ew["flops_per_element"] == 2
    for p in ew["points"]:
        check_spread(p)
        n, med = p["elements"], p["median_s"]
        assert p["elements_per_s"] == pytest.approx(n / med)
        assert p["s_per_element"] == pytest.approx(med / n)
        assert p["gb_per_s_median"] == pytest.approx(12 * n / med / 1e9)
        assert p["gb_per_s_min"] <= p["gb_per_s_median"] <= p["gb_per_s_max"]
        assert p["gflop_per_s_median"] == pytest.approx(2 * n / med / 1e9)
        # Physically plausible: no CPU moves 100 TB/s, and nothing takes a second here.
        assert 0 < p["gb_per_s_median"] < 1e5 and med < 1.0


def test_conv_points(quick_cpu):
    data, _ = quick_cpu
    cv = data["conv"]
    assert (cv["cin"], cv["cout"], cv["kernel"], cv["height"], cv["width"]) == (64, 64, 3, 32, 32)
    assert cv["tf32"] is False
    for p in cv["points"]:
        check_spread(p)
        n, med = p["batch"], p["median_s"]
        assert p["flops"] == 2 * 64 * 64 * 3 * 3 * 32 * 32 * n
        assert p["images_per_s"] == pytest.approx(n / med)
        assert p["s_per_image"] == pytest.approx(med / n)
        assert p["gflop_per_s_median"] == pytest.approx(p["flops"] / med / 1e9)
        assert p["gflop_per_s_min"] <= p["gflop_per_s_median"] <= p["gflop_per_s_max"]
        assert 0 < p["gflop_per_s_median"] < 1e6


def test_tiny_op_and_threads(quick_cpu):
    data, _ = quick_cpu
    tiny = data["tiny_op"]
    check_spread(tiny["queued"])
    assert tiny["queued"]["median_s"] < 0.01  # one add of two numbers: microseconds, not ms
    # A CPU has no asynchronous queue to wait for: skipped, with the reason.
    assert tiny["round_trip"]["status"] == "skipped" and tiny["round_trip"]["reason"]
    th = data["cpu_threads"]
    counts = [p["threads"] for p in th["points"]]
    assert counts[0] == 1 and counts[-1] == th["max_threads"] == data["device"]["threads"]
    assert th["points"][0]["speedup_vs_1_thread"] == pytest.approx(1.0)
    for p in th["points"]:
        check_spread(p)
        assert p["batch"] == th["batch"]
        assert p["speedup_vs_1_thread"] > 0


def test_out_file_leaves_stdout_empty(tmp_path):
    out = tmp_path / "p.json"
    printed, _ = run_snippet("parallel", "--device", "cpu", "--quick", "--out", str(out))
    assert printed is None
    saved = json.loads(out.read_text())
    assert saved["snippet"] == "parallel" and saved["elementwise"]["points"]


def test_cuda_without_gpu_is_an_error():
    import subprocess
    import sys

    import torch
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is present")
    from conftest import SNIPPETS
    proc = subprocess.run([sys.executable, str(SNIPPETS / "parallel.py"), "--device", "cuda"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "no CUDA GPU" in proc.stderr and not proc.stdout
