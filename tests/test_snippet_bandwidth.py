import importlib.util

import pytest

from conftest import SNIPPETS, run_snippet, snippet_help


def test_help_names_every_flag():
    text = snippet_help("bandwidth")
    for flag in ("--device", "--quick", "--out"):
        assert flag in text


def test_quick_cpu_json():
    data, err = run_snippet("bandwidth", "--device", "cpu", "--quick")
    assert data["snippet"] == "bandwidth" and data["device"]["type"] == "cpu"
    assert data["validated"] is True and "triad check: ok" in err
    assert set(data["kernels"]) == {"read", "update", "copy", "triad"}
    for name, k in data["kernels"].items():
        assert k["runs"] >= 5, name
        assert 0 < k["min_s"] <= k["median_s"] <= k["max_s"], name
        assert k["gb_per_s"] > 0 and k["write_allocate"], name
    best = max(data["kernels"], key=lambda n: data["kernels"][n]["gb_per_s"])
    assert data["best_kernel"] == best and data["best_gb_per_s"] == data["kernels"][best]["gb_per_s"]
    assert data["host_device"] is None  # no GPU: no host<->device copies


def _snippet(name):
    spec = importlib.util.spec_from_file_location(f"snippet_{name}", SNIPPETS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("name", ["bandwidth", "roofline"])
@pytest.mark.parametrize("shape", [7, (1 << 20) + 3, (3, 1 << 20), (5, 300, 1001)])
def test_random_buffer_fills_every_element_with_normal_values(name, shape):
    """The fast fill of the big buffers leaves no element unwritten (torch.empty's garbage,
    NaN) and draws normal values: mean near 0, deviation near 1."""
    import torch
    mod = _snippet(name)
    gen = torch.Generator().manual_seed(0)
    buf = mod.random_buffer(shape, torch.device("cpu"), gen, torch.float64)
    assert tuple(buf.shape) == (shape if isinstance(shape, tuple) else (shape,))
    flat = buf.reshape(-1)
    block = torch.randn(min(flat.numel(), 1 << 20), dtype=torch.float64,
                        generator=torch.Generator().manual_seed(0))
    expect = block.repeat(flat.numel() // block.numel() + 1)[:flat.numel()]
    assert torch.equal(flat, expect)
    if flat.numel() > 1000:
        assert abs(flat.mean().item()) < 0.05 and abs(flat.std().item() - 1) < 0.05
