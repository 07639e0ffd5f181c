import importlib.util
import json
import math

from conftest import ROOT, run_snippet, snippet_help

GIB = 2 ** 30


def load(name):
    """Import snippets/<name>.py as a module (the snippets are files, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "snippets" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_help_names_every_flag():
    text = snippet_help("train_memory")
    for flag in ("--device", "--quick", "--out"):
        assert flag in text


def test_quick_cpu_json():
    data, _ = run_snippet("train_memory", "--device", "cpu", "--quick")
    assert data["snippet"] == "train_memory" and data["kind"] == "arithmetic"
    assert isinstance(data["method_version"], int) and data["quick"] is True
    assert data["device"]["type"] == "cpu"
    assert data["bytes_per_param"]["total"] == 16
    assert [g["name"] for g in data["gpus"]] == ["H100 80GB", "H200 141GB"]
    rows = {r["name"]: r for r in data["models"]}
    assert len(rows) == 4
    sizes = [r["n_params"] for r in data["models"]]
    assert sizes == sorted(sizes) and sizes[0] == 124_000_000 and sizes[-1] == 70_000_000_000
    for r in data["models"]:
        assert r["states_bytes"] == 16 * r["n_params"]
        assert math.isclose(r["states_gib"], r["states_bytes"] / GIB)
        assert 0 < r["activations_per_seq_checkpointed_bytes"] < r["activations_per_seq_bytes"]
        for g in data["gpus"]:
            cell = r["gpus"][g["name"]]
            gpu_bytes = g["memory_gib"] * GIB
            assert cell["min_gpus_for_states"] == math.ceil(r["states_bytes"] / gpu_bytes)
            assert cell["states_fit_one_gpu"] == (cell["min_gpus_for_states"] == 1)
            assert cell["states_fit_one_server"] == (cell["min_gpus_for_states"] <= 8)
            assert cell["left_per_gpu_at_min_gib"] >= 0
    # the page's headline facts
    assert rows["GPT-2 small"]["gpus"]["H100 80GB"]["states_fit_one_gpu"]
    assert not rows["Llama-2 7B"]["gpus"]["H100 80GB"]["states_fit_one_gpu"]
    assert rows["Llama-2 70B"]["gpus"]["H100 80GB"]["min_gpus_for_states"] == 14
    assert not rows["Llama-2 70B"]["gpus"]["H100 80GB"]["states_fit_one_server"]


def test_small_gpt_estimate_matches_gpt_train():
    """train_memory repeats gpt_train's configs and formula; they must not drift apart."""
    tm, gt = load("train_memory"), load("gpt_train")
    for key, cfg in tm.SMALL_GPT.items():
        full = gt.CONFIGS[key]
        for dim in ("n_layer", "d_model", "seq_len", "batch_size", "vocab_size"):
            assert cfg[dim] == full[dim], (key, dim)
        mine = tm.small_gpt_estimate(cfg)
        theirs = gt.memory_estimate(full, bf16=cfg["bf16"])
        assert mine["n_params"] == gt.count_params(full)["total"]
        assert mine["total_bytes"] == theirs["total_bytes"], key
    assert tm.SMALL_GPT["cuda"]["bf16"] and not tm.SMALL_GPT["cpu"]["bf16"]


def test_out_file(tmp_path):
    out = tmp_path / "tm.json"
    printed, _ = run_snippet("train_memory", "--device", "cpu", "--out", str(out))
    assert printed is None  # with --out, stdout stays empty
    saved = json.loads(out.read_text())
    assert saved["quick"] is False and saved["small_gpt"]["cpu"]["total_bytes"] > 0
