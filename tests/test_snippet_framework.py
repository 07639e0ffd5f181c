import json
import math

import pytest

from conftest import run_snippet, snippet_help

EAGER = ("eager_fp32", "eager_autocast")
COMPILED = ("compile_fp32", "compile_autocast")


def check_timed(e):
    assert e["status"] == "ok", e
    assert e["runs"] >= 5
    assert 0 < e["min_s"] <= e["median_s"] <= e["max_s"]
    assert e["iqr_s"] >= 0
    assert e["first_step_s"] > 0 and len(e["warmup_steps_s"]) >= 1
    assert all(math.isfinite(v) for v in (e["median_s"], e["tflops_median"], e["tokens_per_s"]))
    assert e["loss_finite"] and e["loss_first_step"] > 0


@pytest.fixture(scope="module")
def quick():
    return run_snippet("framework", "--device", "cpu", "--quick")


def test_help_names_every_flag():
    text = snippet_help("framework")
    for flag in ("--device", "--quick", "--modes", "--compile", "--out"):
        assert flag in text


def test_quick_cpu_json(quick):
    data, err = quick
    assert data["snippet"] == "framework" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    c = data["config"]
    # FLOPs/step = 6 * B * T * layers * (12 d^2 + 2 T d), as the docstring says.
    assert data["flops_per_step"] == 6 * c["batch"] * c["seq_len"] * c["layers"] * (
        12 * c["d_model"] ** 2 + 2 * c["seq_len"] * c["d_model"])
    assert data["tokens_per_step"] == c["batch"] * c["seq_len"]
    modes = data["modes"]
    assert set(modes) == set(EAGER + COMPILED)
    # --quick skips torch.compile, with the reason.
    for m in COMPILED:
        assert modes[m]["status"] == "skipped" and "--quick" in modes[m]["reason"]
    base = modes["eager_fp32"]
    for m in EAGER:
        e = modes[m]
        check_timed(e)
        assert e["tokens_per_s"] == pytest.approx(data["tokens_per_step"] / e["median_s"])
        assert e["tflops_median"] == pytest.approx(data["flops_per_step"] / e["median_s"] / 1e12)
        assert e["speedup_vs_eager_fp32"] == pytest.approx(base["median_s"] / e["median_s"])
        assert e["loss_check"] == "ok"
    assert base["speedup_vs_eager_fp32"] == 1.0 and base["loss_rel_diff_vs_eager_fp32"] == 0.0
    # Same weights, same batch: bf16 autocast changes the loss, but only a little.
    assert 0 < modes["eager_autocast"]["loss_rel_diff_vs_eager_fp32"] < 5e-2
    assert "eager_fp32" in err


def test_quick_cpu_libraries(quick):
    import torch
    lib = quick[0]["libraries"]
    assert lib["torch_version"] == torch.__version__
    assert lib["mkldnn_available"] == torch.backends.mkldnn.is_available()
    assert isinstance(lib["build_libraries"], list) and lib["build_libraries"]
    assert "BLAS_INFO" in lib["build_settings"]
    assert lib["cuda_available"] is False or lib["cuda_version"]


def test_out_file_and_mode_subset(tmp_path):
    out = tmp_path / "f.json"
    printed, _ = run_snippet("framework", "--device", "cpu", "--quick", "--modes", "eager_fp32",
                             "--compile", "off", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    saved = json.loads(out.read_text())
    assert list(saved["modes"]) == ["eager_fp32"]
    check_timed(saved["modes"]["eager_fp32"])


def test_quick_compile_on():
    # Slow (a cold torch.compile: tens of seconds on a small CPU), but it is the claim's point.
    data, _ = run_snippet("framework", "--device", "cpu", "--quick", "--compile", "on",
                          "--modes", "eager_fp32", "compile_fp32")
    e = data["modes"]["compile_fp32"]
    if e["status"] == "skipped":  # allowed only where Inductor has no C++ compiler to call
        assert e["reason"] and data["libraries"]["c_compiler"] is None, e
        return
    check_timed(e)
    # The first step holds the compilation, so it is far slower than a warm one.
    assert e["compile_s"] > 0 and e["first_step_s"] > e["median_s"]
    assert e["compile_s"] == pytest.approx(e["first_step_s"] - e["median_s"])
    assert e["loss_check"] == "ok" and e["loss_rel_diff_vs_eager_fp32"] < 1e-4
