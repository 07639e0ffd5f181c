import json
import math

from conftest import run_snippet, snippet_help

# Forward FLOPs of one 3x32x32 image through ResNet-14 (widths 32/64/128), by hand with
# 2 * C_out * H * W * C_in * k * k per convolution:
#   stem 3->32 at 32x32:                                    1,769,472
#   stage 1, four 32->32 convs at 32x32:               4 x 18,874,368
#   stage 2 (16x16): 32->64 3x3, 1x1 shortcut, three 64->64:
#                    9,437,184 + 1,048,576 + 3 x 18,874,368 = 67,108,864
#   stage 3 (8x8):   the same count with twice the channels = 67,108,864
#   linear 128->10:                                              2,560
FORWARD_FLOPS = 1_769_472 + 4 * 18_874_368 + 2 * 67_108_864 + 2_560


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel)


def test_help_names_every_flag():
    text = snippet_help("cnn_train")
    for flag in ("--device", "--quick", "--precisions", "--batches", "--out"):
        assert flag in text


def check_ok(e, batch, train_flops):
    assert e["status"] == "ok", e
    assert e["batch"] == batch and e["steps_per_block"] == 1  # one step per block on a CPU
    s = e["step"]
    assert s["runs"] >= 5
    assert 0 < s["min_s"] <= s["median_s"] <= s["max_s"] and s["iqr_s"] >= 0
    assert all(math.isfinite(s[k]) for k in ("min_s", "median_s", "max_s"))
    # Derived figures follow from the step time.
    assert close(e["images_per_s"], batch / s["median_s"])
    assert e["images_per_s_min"] <= e["images_per_s"] <= e["images_per_s_max"]
    assert close(e["projected_epoch_s"], 50_000 / e["images_per_s"])
    assert close(e["tflops"], train_flops * e["images_per_s"] / 1e12)
    # Training ran: the loss of the last step is a finite cross-entropy (random labels).
    assert e["loss_finite"] is True and math.isfinite(e["last_loss"]) and e["last_loss"] >= 0
    assert e["peak_memory_gb"] is None  # only measured on CUDA


def test_quick_cpu_json():
    data, err = run_snippet("cnn_train", "--device", "cpu", "--quick")
    assert data["snippet"] == "cnn_train" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    assert 500_000 <= data["params"] <= 3_000_000
    assert data["forward_flops_per_image"] == FORWARD_FLOPS
    assert data["train_flops_per_image"] == 3 * FORWARD_FLOPS
    p = data["precisions"]
    assert sorted(p) == ["bf16", "fp32", "tf32"]
    # TF32 is a CUDA mode: skipped on a CPU, with the reason.
    assert p["tf32"]["status"] == "skipped" and "CUDA" in p["tf32"]["reason"]
    check_ok(p["fp32"], 8, data["train_flops_per_image"])
    # bf16 autocast runs on most CPUs; where it cannot, it must say why.
    if p["bf16"]["status"] == "ok":
        check_ok(p["bf16"], 8, data["train_flops_per_image"])
    else:
        assert p["bf16"]["status"] == "skipped" and p["bf16"]["reason"]
    assert "images/s" in err


def test_out_file_precision_subset_and_batch_curve(tmp_path):
    out = tmp_path / "c.json"
    printed, _ = run_snippet("cnn_train", "--device", "cpu", "--quick", "--precisions", "fp32",
                             "--batches", "4", "16", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    saved = json.loads(out.read_text())
    assert list(saved["precisions"]) == ["fp32"] and saved["batches"] == [4, 16]
    e = saved["precisions"]["fp32"]
    # One entry per batch size; the precision's own figures are its fastest batch size's.
    assert [c["batch"] for c in e["curve"]] == [4, 16] == e["batches_tried"]
    for c in e["curve"]:
        check_ok(c, c["batch"], saved["train_flops_per_image"])
    best = max(e["curve"], key=lambda c: c["images_per_s"])
    check_ok(e, best["batch"], saved["train_flops_per_image"])
    assert e["images_per_s"] == best["images_per_s"]
