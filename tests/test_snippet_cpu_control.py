import json
import math

import pytest

from conftest import run_snippet, snippet_help


def check_spread(r):
    assert r["status"] == "ok", r
    assert r["runs"] >= 5
    assert 0 < r["min_s"] <= r["median_s"] <= r["max_s"]
    assert r["iqr_s"] >= 0 and math.isfinite(r["max_s"])


def check_skipped(r, *words):
    assert r["status"] == "skipped" and r["reason"], r
    for w in words:
        assert w in r["reason"]


@pytest.fixture(scope="module")
def quick():
    return run_snippet("cpu_control", "--device", "cpu", "--quick")


def test_help_names_every_flag():
    text = snippet_help("cpu_control")
    for flag in ("--device", "--quick", "--params", "--out"):
        assert flag in text


def test_quick_cpu_update(quick):
    data, err = quick
    assert data["snippet"] == "cpu_control" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    up = data["update"]
    # Validated before timing: the timed AdamW matches the for-loop reference.
    chk = up["check"]
    # relative tolerance: the largest difference over the largest parameter
    assert chk["status"] == "ok" and chk["cpu_step_max_rel_diff"] <= chk["rel_tolerance"] == 1e-6
    assert chk["cpu_step_max_abs_diff"] >= 0
    assert up["sizes"]
    for s in up["sizes"]:
        n = s["params"]
        assert s["adamw_bytes"] == 28 * n and s["copy_bytes"] == 4 * n
        # Without a GPU, only the CPU step exists; the rest is skipped, with reasons.
        check_skipped(s["on_device"], "no GPU")
        off = s["offload"]
        for phase in ("d2h", "h2d", "total"):
            check_skipped(off[phase], "no GPU")
        step = off["cpu_step"]
        check_spread(step)
        assert step["impl"] in ("fused", "foreach")
        assert step["gb_per_s"] == pytest.approx(28 * n / step["median_s"] / 1e9)
    assert "Part A" in err and "Part B" in err


def test_quick_cpu_launch(quick):
    data, _ = quick
    batches = data["launch"]["batches"]
    assert [b["batch"] for b in batches] == [32, 256]
    # The fixed cost is fitted across the batch sizes, T = fixed + FLOPs / rate, not step / ops.
    fit = data["launch"]["fit"]["eager"]
    if fit["status"] != "ok":  # only when, on a noisy box, the bigger batch was not slower
        assert "does not grow" in fit["reason"]
        assert batches[1]["eager"]["median_s"] <= batches[0]["eager"]["median_s"]
    else:
        assert fit["points"] == 2 and fit["fixed_s"] >= 0
        assert fit["fixed_us_per_op"] == pytest.approx(fit["fixed_s"] / batches[0]["aten_ops_per_step"] * 1e6)
        for b in batches:
            model = fit["fixed_s"] + b["flops_per_step"] / (fit["marginal_tflops"] * 1e12)
            assert abs(model - b["eager"]["median_s"]) / b["eager"]["median_s"] <= fit["max_rel_residual"] + 1e-9
    check_skipped(data["launch"]["fit"]["cuda_graph"])
    assert data["launch"]["work_ratio"] == 8
    b = batches[0]
    assert b["flops_per_step"] == 6 * b["batch"] * b["layers"] * b["width"] ** 2
    # 4 Linear layers: forward, backward and AdamW take dozens of ops, not a handful.
    assert 20 <= b["aten_ops_per_step"] <= 500 and b["view_ops_per_step"] >= 0
    e = b["eager"]
    check_spread(e)
    assert e["us_per_op"] == pytest.approx(e["median_s"] / b["aten_ops_per_step"] * 1e6)
    assert e["tflops"] == pytest.approx(b["flops_per_step"] / e["median_s"] / 1e12)
    check_skipped(b["cuda_graph"], "CUDA")


def test_out_file_and_params(tmp_path):
    out = tmp_path / "c.json"
    printed, _ = run_snippet("cpu_control", "--device", "cpu", "--quick", "--params", "100000",
                             "5000000", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    saved = json.loads(out.read_text())
    assert [s["params"] for s in saved["update"]["sizes"]] == [100000, 5000000]
    for s in saved["update"]["sizes"]:
        check_spread(s["offload"]["cpu_step"])
