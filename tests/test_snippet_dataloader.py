import importlib.util
import json
import math
import os
import pickle
import sys

from conftest import SNIPPETS, run_snippet, snippet_help


def close(a, b, rel=1e-9):
    return math.isclose(a, b, rel_tol=rel)


def load_module():
    spec = importlib.util.spec_from_file_location("dataloader_snippet", SNIPPETS / "dataloader.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod  # so that pickle can find the Dataset class by name
    spec.loader.exec_module(mod)  # importing must not start any measurement
    return mod


def test_help_names_every_flag():
    text = snippet_help("dataloader")
    for flag in ("--device", "--quick", "--workers", "--batch", "--out"):
        assert flag in text


def test_dataset_is_deterministic_normalised_and_picklable():
    import torch
    mod = load_module()
    ds = mod.SyntheticImages(10, size=32, src=40)
    x, y = ds[3]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and 0 <= y < 10
    # Normalised pixels: (p/255 - mean) / std stays within about [-2.2, 2.7].
    assert -2.2 <= float(x.min()) and float(x.max()) <= 2.7 and float(x.std()) > 0.5
    x2, y2 = ds[3]
    assert torch.equal(x, x2) and y == y2  # same index, same sample, in any worker
    assert not torch.equal(x, ds[4][0])
    # spawn-started workers receive the dataset pickled
    x3, _ = pickle.loads(pickle.dumps(ds))[3]
    assert torch.equal(x, x3)


def check_window(e, batch):
    assert e["status"] == "ok", e
    w = e["window"]
    assert w["runs"] >= 5
    assert 0 < w["min_s"] <= w["median_s"] <= w["max_s"] and w["iqr_s"] >= 0
    assert e["first_batch_s"] > 0 and math.isfinite(e["first_batch_s"])
    assert e["warmup_batches"] == 1 + 2 * e["num_workers"]
    assert e["batches_per_window"] >= max(1, e["num_workers"])
    samples = e["batches_per_window"] * batch
    assert close(e["samples_per_s"], samples / w["median_s"])
    assert e["samples_per_s_min"] <= e["samples_per_s"] <= e["samples_per_s_max"]


def check_run(data, batch, workers):
    assert data["snippet"] == "dataloader" and data["device"]["type"] == "cpu"
    assert isinstance(data["method_version"], int)
    assert data["batch"] == batch and data["workers"] == workers
    m = data["model"]
    assert m["status"] == "ok" and m["step"]["runs"] >= 5 and m["steps_per_block"] == 1
    assert 0 < m["step"]["min_s"] <= m["step"]["median_s"] <= m["step"]["max_s"]
    assert close(m["samples_per_s"], batch / m["step"]["median_s"])
    model_rate = m["samples_per_s"]

    loader_rate = {}
    for phase in ("loader", "end_to_end"):
        entries = data[phase]
        assert [(e["num_workers"], e["pin_memory"]) for e in entries] == \
            [(w, p) for w in workers for p in (False, True)]
        for e in entries:
            if e["pin_memory"]:  # no CUDA here: pinning is skipped, with the reason
                assert e["status"] == "skipped" and "CUDA" in e["reason"]
                continue
            check_window(e, batch)
            if phase == "loader":
                loader_rate[e["num_workers"]] = e["samples_per_s"]
                continue
            lr = loader_rate[e["num_workers"]]
            assert close(e["expected_samples_per_s"], min(lr, model_rate))
            assert e["bottleneck"] == ("loader" if lr < model_rate else "model")
            idle = e["device_idle_share_estimate"]
            assert 0 <= idle < 1 and close(idle, max(0.0, 1 - e["samples_per_s"] / model_rate),
                                           rel=1e-6)

    s = data["summary"]
    assert s["model_samples_per_s"] == model_rate
    best = max((e for e in data["end_to_end"] if e["status"] == "ok"),
               key=lambda e: e["samples_per_s"])
    assert s["best_end_to_end"]["samples_per_s"] == best["samples_per_s"]
    assert s["best_end_to_end"]["num_workers"] == best["num_workers"]
    keep_up = [w for w, r in sorted(loader_rate.items()) if r >= model_rate]
    assert s["min_workers_to_keep_up"] == (keep_up[0] if keep_up else None)
    if 0 in loader_rate:
        assert close(s["loader_us_per_sample_one_process"], 1e6 / loader_rate[0])


def test_quick_cpu_json():
    data, err = run_snippet("dataloader", "--device", "cpu", "--quick")
    cores = len(os.sched_getaffinity(0))
    expected = list(range(cores + 1)) if cores <= 4 else [0] + [w for w in (2, 4, 8) if w <= cores]
    assert data["quick"] is True and data["cores"] == cores
    assert data["image_size"] == 32
    check_run(data, 16, expected)
    assert "samples/s" in err and "end to end" in err


def test_out_file_workers_and_batch(tmp_path):
    out = tmp_path / "d.json"
    printed, _ = run_snippet("dataloader", "--device", "cpu", "--quick", "--workers", "0", "1",
                             "--batch", "8", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    check_run(json.loads(out.read_text()), 8, [0, 1])
