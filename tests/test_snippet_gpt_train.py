import importlib.util
import json
import math

import pytest

from conftest import ROOT, run_snippet, snippet_help


def load(name):
    """Import snippets/<name>.py as a module (the snippets are files, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "snippets" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def quick():
    data, err = run_snippet("gpt_train", "--device", "cpu", "--quick")
    return data, err


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel)


def test_help_names_every_flag():
    text = snippet_help("gpt_train")
    for flag in ("--device", "--quick", "--precision", "--peak-tflops", "--out"):
        assert flag in text


def test_quick_cpu_structure(quick):
    data, _ = quick
    assert data["snippet"] == "gpt_train" and data["quick"] is True
    assert isinstance(data["method_version"], int)
    assert data["device"]["type"] == "cpu"
    cfg = data["config"]
    assert cfg["precision"] == "fp32"
    assert cfg["tokens_per_step"] == cfg["batch_size"] * cfg["seq_len"]
    # the parameter formula matches the model that was built
    assert data["params"]["counted"] == data["params"]["total"] > data["params"]["matmul"] > 0


def test_quick_cpu_timing_and_flops(quick):
    data, _ = quick
    cfg, t, fl = data["config"], data["timing"], data["flops"]
    assert t["runs"] >= 5
    assert 0 < t["min_s"] <= t["median_s"] <= t["max_s"] and t["iqr_s"] >= 0
    assert all(math.isfinite(t[k]) for k in t if k.endswith("_s"))
    # throughput follows from the step time: tokens/s = tokens per step / seconds per step
    assert close(t["tokens_per_s_median"], cfg["tokens_per_step"] / t["median_s"])
    assert t["tokens_per_s_min"] <= t["tokens_per_s_median"] <= t["tokens_per_s_max"]
    assert close(t["tflops_median"], fl["per_step"] / t["median_s"] / 1e12)
    # FLOPs per token = 6 * N_matmul + 12 * n_layer * d_model * seq_len
    assert fl["weights_6n"] == 6 * data["params"]["matmul"]
    assert fl["attention"] == 12 * cfg["n_layer"] * cfg["d_model"] * cfg["seq_len"]
    assert fl["per_token"] == fl["weights_6n"] + fl["attention"]
    assert fl["per_step"] == fl["per_token"] * cfg["tokens_per_step"]
    # no peak is known for a CPU: MFU is null, with the reason
    assert data["mfu"]["status"] == "skipped" and data["mfu"]["mfu_median"] is None
    assert "--peak-tflops" in data["mfu"]["reason"]


def test_quick_cpu_training_learns(quick):
    loss = quick[0]["loss"]
    # random tokens over V classes: the first loss is about ln(V); AdamW then lowers it
    assert abs(loss["first"] - loss["ln_vocab"]) < 0.5
    assert math.isfinite(loss["last"]) and loss["last"] < loss["first"]


def test_quick_cpu_memory(quick):
    data, _ = quick
    mem, p = data["memory"], data["params"]
    assert mem["status"] == "ok", mem
    # between steps: fp32 weights + two fp32 AdamW moments = 12 bytes/param (+ step counters)
    assert 12 * p["total"] <= mem["resident_bytes"] < 12.1 * p["total"]
    assert mem["peak_bytes"] > mem["resident_bytes"]
    est = mem["estimate"]
    parts = ("weights_bytes", "grads_bytes", "adamw_states_bytes",
             "autocast_weight_copies_bytes", "activations_bytes")
    assert est["total_bytes"] == sum(est[k] for k in parts)
    assert est["weights_bytes"] + est["grads_bytes"] + est["adamw_states_bytes"] == 16 * p["total"]
    # the formula should land near what the step really allocates
    assert 0.5 < mem["measured_over_estimate"] < 1.5
    assert close(mem["measured_over_estimate"], mem["peak_bytes"] / est["total_bytes"])


def test_quick_cpu_profile(quick):
    prof = quick[0]["profile"]
    assert prof["status"] == "ok", prof
    assert prof["total_s"] > 0 and prof["wall_s"] > 0
    assert close(prof["matmul_s"] + prof["attention_s"] + prof["other_s"], prof["total_s"], 1e-6)
    for k in ("matmul_share", "attention_share", "matmul_plus_attention_share"):
        assert 0 <= prof[k] <= 1
    assert prof["matmul_share"] > 0 and prof["attention_share"] > 0
    assert close(prof["matmul_plus_attention_share"],
                 prof["matmul_share"] + prof["attention_share"])
    names = {row["name"]: row["kind"] for row in prof["top"]}
    assert names.get("aten::mm") == "matmul"
    assert all(row["kind"] in ("matmul", "attention", "other") for row in prof["top"])


def test_peak_flag_gives_mfu_and_out_file(tmp_path):
    out = tmp_path / "g.json"
    printed, _ = run_snippet("gpt_train", "--device", "cpu", "--quick", "--peak-tflops", "0.5",
                             "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    data = json.loads(out.read_text())
    mfu, t = data["mfu"], data["timing"]
    assert mfu["status"] == "ok" and mfu["peak_tflops"] == 0.5 and mfu["source"] == "--peak-tflops"
    assert close(mfu["mfu_median"], t["tflops_median"] / 0.5)
    assert mfu["mfu_min"] <= mfu["mfu_median"] <= mfu["mfu_max"]


def test_peak_table_and_kernel_names():
    g = load("gpt_train")
    # Dense = half the datasheets' sparse figures (1,979 / 1,513 / 1,671 TFLOP/s), whole model.
    assert g.lookup_peak("NVIDIA H100 80GB HBM3", "bf16")[0] == 989.5
    assert g.lookup_peak("NVIDIA H100 PCIe", "bf16")[0] == 756.5
    assert g.lookup_peak("NVIDIA H100 NVL", "bf16")[0] == 835.5
    assert g.lookup_peak("NVIDIA H200", "bf16")[0] == 989.5
    assert g.lookup_peak("NVIDIA H200 NVL", "bf16")[0] == 835.5
    assert g.lookup_peak("NVIDIA A100-SXM4-80GB", "bf16")[0] == 312
    assert g.lookup_peak("NVIDIA L40S", "bf16")[0] == 366.5
    assert g.lookup_peak("NVIDIA L4", "tf32")[0] == 60
    for unknown in ("NVIDIA A10G", "NVIDIA L40", "Tesla V100-SXM2-16GB"):
        assert g.lookup_peak(unknown, "bf16") == (None, None)
    assert g.classify("nvjet_tst_128x256_64x4_1x2_h_bz_coopA_NTN") == "matmul"
    assert g.classify("sm90_xmma_gemm_bf16bf16_bf16f32_f32_tn_n_tilesize128x128x64") == "matmul"
    flash_bwd = "void pytorch_flash::flash_bwd_dq_dk_dv_loop_seqk_parallel_kernel"
    assert g.classify(flash_bwd) == "attention"
    assert g.classify("fmha_cutlassF_bf16_aligned_64x128_rf_sm80") == "attention"
    assert g.classify("void at::native::vectorized_elementwise_kernel<4>") == "other"
    assert g.classify("aten::addmm") == "matmul" and g.classify("aten::add") == "other"
