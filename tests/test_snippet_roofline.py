import json
import math

import pytest

from conftest import run_snippet, snippet_help

MEMORY_KERNELS = {"copy", "vector_add", "triad", "sum", "softmax", "gemv"}


@pytest.fixture(scope="module")
def quick_cpu():
    data, err = run_snippet("roofline", "--device", "cpu", "--quick")
    return data, err


def test_help_names_every_flag():
    text = snippet_help("roofline")
    for flag in ("--device", "--quick", "--out"):
        assert flag in text


def test_quick_cpu_header(quick_cpu):
    data, err = quick_cpu
    assert data["snippet"] == "roofline" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    assert data["llc"]["bytes"] > 0 and data["llc"]["source"]
    assert data["buffer"]["bytes"] == 4 * data["buffer"]["elements"]
    assert data["buffer"]["times_llc"] == pytest.approx(data["buffer"]["bytes"] / data["llc"]["bytes"])
    # bf16 is not measured on a CPU: said so, with a reason.
    assert data["skipped_dtypes"]["bf16"]["status"] == "skipped"
    assert data["skipped_dtypes"]["bf16"]["reason"]
    assert "matmuls" in err  # progress goes to stderr


def test_every_kernel_is_measured_with_its_spread(quick_cpu):
    data, _ = quick_cpu
    ks = data["kernels"]
    names = {k["name"] for k in ks}
    assert MEMORY_KERNELS | {"matmul", "bmm"} <= names
    for k in ks:
        assert "status" not in k, k  # nothing may be skipped on a CPU in fp32
        assert k["dtype"] == "fp32"
        assert k["runs"] >= 5
        assert 0 < k["min_s"] <= k["median_s"] <= k["max_s"]
        assert math.isfinite(k["median_s"]) and k["median_s"] < 5
        assert k["gb_per_s_min"] <= k["gb_per_s_median"] <= k["gb_per_s_max"]
        assert k["gflop_per_s_min"] <= k["gflop_per_s_median"] <= k["gflop_per_s_max"]
        # The rates follow from the counted FLOPs and bytes and the median time.
        assert k["gflop_per_s_median"] == pytest.approx(k["flops"] / k["median_s"] / 1e9)
        assert k["gb_per_s_median"] == pytest.approx(k["bytes"] / k["median_s"] / 1e9)
        assert k["intensity_flop_per_byte"] == pytest.approx(k["flops"] / k["bytes"])
        assert 0 < k["gb_per_s_median"] < 1e5  # no CPU moves 100 TB/s


def test_intensities_match_the_formulas(quick_cpu):
    data, _ = quick_cpu
    by = {k["name"]: k for k in data["kernels"] if k["name"] in MEMORY_KERNELS}
    assert by["copy"]["intensity_flop_per_byte"] == 0
    assert by["vector_add"]["intensity_flop_per_byte"] == pytest.approx(1 / 12)
    assert by["triad"]["intensity_flop_per_byte"] == pytest.approx(1 / 6)
    assert by["sum"]["intensity_flop_per_byte"] == pytest.approx(1 / 4)
    assert by["softmax"]["intensity_flop_per_byte"] == pytest.approx(5 / 8)
    assert by["gemv"]["intensity_flop_per_byte"] == pytest.approx(0.5, rel=1e-2)
    for k in data["kernels"]:
        if k["name"] in ("matmul", "bmm"):
            assert k["intensity_flop_per_byte"] == pytest.approx(k["n"] / 6)  # fp32: n/6
            if k["name"] == "bmm":
                assert k["flops"] == 2 * k["batch"] * k["n"] ** 3


def test_ceilings_and_ridge(quick_cpu):
    data, _ = quick_cpu
    ks, c = data["kernels"], data["ceilings"]
    bw = c["bandwidth"]
    memory = ("copy", "vector_add", "triad", "sum", "softmax", "gemv")
    assert bw["kernel"] in memory  # the best of every memory-bound kernel, not one of two
    assert bw["peak_gb_per_s"] == max(k["gb_per_s_median"] for k in ks if k["name"] in memory)
    assert bw["gb_per_s_min"] <= bw["peak_gb_per_s"] <= bw["gb_per_s_max"]
    f = c["fp32"]
    assert f["kernel"] in ("matmul", "bmm")
    assert f["peak_gflop_per_s"] == max(k["gflop_per_s_median"] for k in ks
                                        if k["name"] in ("matmul", "bmm"))
    assert f["ridge_point_flop_per_byte"] == pytest.approx(f["peak_gflop_per_s"] / bw["peak_gb_per_s"])
    assert f["ridge_point_flop_per_byte"] > 0
    assert "bf16" not in c


def test_kernels_placed_under_the_roofline(quick_cpu):
    data, _ = quick_cpu
    c = data["ceilings"]
    peak, bw, ridge = (c["fp32"]["peak_gflop_per_s"], c["bandwidth"]["peak_gb_per_s"],
                       c["fp32"]["ridge_point_flop_per_byte"])
    for k in data["kernels"]:
        i = k["intensity_flop_per_byte"]
        assert k["roofline_gflop_per_s"] == pytest.approx(min(peak, i * bw))
        assert k["bound"] == ("memory" if i < ridge else "compute")
        if k["name"] == "copy":
            assert k["fraction_of_roofline"] is None  # no FLOPs: no compute roof to reach
        else:
            assert k["fraction_of_roofline"] == pytest.approx(k["gflop_per_s_median"]
                                                              / k["roofline_gflop_per_s"])
    best = max((k for k in data["kernels"] if k["name"] in ("matmul", "bmm")),
               key=lambda k: k["gflop_per_s_median"])
    # The best matmul defines the compute roof, so it reaches (at least) its own roofline.
    assert best["fraction_of_roofline"] >= 1 - 1e-9


def test_out_file_leaves_stdout_empty(tmp_path):
    out = tmp_path / "r.json"
    printed, _ = run_snippet("roofline", "--device", "cpu", "--quick", "--out", str(out))
    assert printed is None
    saved = json.loads(out.read_text())
    assert saved["snippet"] == "roofline" and saved["ceilings"]["fp32"]["peak_gflop_per_s"] > 0
