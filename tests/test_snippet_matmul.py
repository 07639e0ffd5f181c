import math

from conftest import run_snippet, snippet_help


def test_help_names_every_flag():
    text = snippet_help("matmul")
    for flag in ("--device", "--quick", "--dtypes", "--out"):
        assert flag in text


def test_quick_cpu_json():
    data, err = run_snippet("matmul", "--device", "cpu", "--quick")
    assert data["snippet"] == "matmul" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int)
    dt = data["dtypes"]
    # What a CPU cannot do is skipped with a reason, not a crash.
    assert dt["tf32"]["status"] == "skipped" and "CUDA" in dt["tf32"]["reason"]
    assert dt["fp8"]["status"] == "skipped" and dt["fp8"]["reason"]
    for name in ("fp64", "fp32", "bf16"):
        e = dt[name]
        assert e["status"] == "ok", e
        assert len(e["sizes"]) == len(data["sizes"])
        for p in e["sizes"]:
            assert p["runs"] >= 5
            assert 0 < p["min_s"] <= p["median_s"] <= p["max_s"]
            assert p["tflops_min"] <= p["tflops_median"] <= p["tflops_max"]
        assert e["best"]["tflops"] == max(p["tflops_median"] for p in e["sizes"])
    # The precision ladder the page reports: fp64 exact, fp32 ~1e-7, bf16 ~1e-3.
    assert dt["fp64"]["rel_err_vs_fp64"] == 0.0
    assert dt["fp32"]["rel_err_vs_fp64"] < 1e-5
    assert 1e-4 < dt["bf16"]["rel_err_vs_fp64"] < 5e-2
    assert "Starting benchmarks" in err


def test_out_file_and_dtype_subset(tmp_path):
    out = tmp_path / "m.json"
    printed, _ = run_snippet("matmul", "--device", "cpu", "--quick", "--dtypes", "fp32",
                          "--no-numpy", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    import json
    saved = json.loads(out.read_text())
    assert list(saved["dtypes"]) == ["fp32"] and saved["numpy"] is None
    assert math.isfinite(saved["dtypes"]["fp32"]["best"]["tflops"])
