"""A device's ceilings are the best rates measured on it, whatever kernel reached them.

Read from the committed results: no rate that any snippet measured on a machine may stand
above the ceiling the pages quote for it, and the roofline's points sit under its roofs. The
scan of rates below is written out here on its own (which keys are FLOP rates, which dtype
each has), so that it does not simply repeat lib/ceilings.py.
"""
import json
import re
import sys

import pytest

from conftest import ROOT, text_of, val

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

FLOP_KEYS = {"tflops_median": 1000, "tflops": 1000, "gflop_per_s_median": 1}
BYTE_KEYS = ("gb_per_s", "gb_per_s_median")


def committed():
    """{(machine, device): {snippet: (results, machine info)}} of the committed full runs;
    results: every independent repeat, newest first."""
    out = {}
    for path in sorted((ROOT / "docs" / "results").glob("*/*.json")):
        data = json.loads(path.read_text())
        for device, run in data["runs"].items():
            if run.get("quick"):
                continue
            results = [run["result"]] + [x["result"] for x in run.get("repeats", [])]
            out.setdefault((path.parent.name, device), {})[data["snippet"]] = (results, data["machine"])
    return out


def dtype_of(snippet, path, node, result):
    parts = path.split(".")
    if snippet == "matmul":
        return parts[1]                       # dtypes.<dt>... / numpy.<dt>...
    if snippet == "cnn_train":
        return parts[1]                       # precisions.<dt>...
    if snippet == "framework":
        return "bf16" if parts[1].endswith("autocast") else "fp32"
    if snippet == "gpt_train":
        return result["config"]["precision"]
    if snippet == "roofline":
        return node.get("dtype")
    return "fp32"                             # parallel, cpu_control: fp32 throughout


def walk(obj, path=""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from walk(v, f"{path}.{k}" if path else k)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                yield path, k, v, obj
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}.{i}")


def rates(snippet, result):
    """(kind, dtype, value, where, working set) of every FLOP or byte rate in one result."""
    for path, key, v, node in walk(result):
        where = f"{snippet}:{path}.{key}"
        if key in FLOP_KEYS and node.get("status", "ok") == "ok":
            if snippet == "roofline" and node.get("name") not in ("matmul", "bmm"):
                continue  # memory kernels' FLOPs are not what a compute ceiling is about
            if path.startswith("mfu") or ".fit" in path:
                continue
            yield "compute", dtype_of(snippet, path or key, node, result), v * FLOP_KEYS[key], where, None
        elif key in BYTE_KEYS and node.get("working_set_bytes"):
            if "d2h" in path or "h2d" in path:  # PCIe copies, not memory kernels
                continue
            yield "bandwidth", None, v, where, node["working_set_bytes"]


@pytest.fixture(scope="module")
def ceilings():
    import build_results
    from charts import runs_by_snippet
    runs = runs_by_snippet(build_results.load_all())
    return {(r["machine"], r["device"]): r["ceilings"] for rs in runs.values() for r in rs
            if r.get("ceilings")}


def test_no_measured_rate_is_above_its_devices_ceiling(ceilings):
    found = 0
    for (machine, device), results in committed().items():
        c = ceilings[(machine, device)]
        llc = c["llc_bytes"]
        for snippet, (repeats, _) in results.items():
            for kind, dtype, v, where, ws in (x for result in repeats for x in rates(snippet, result)):
                if kind == "compute":
                    found += 1
                    assert v <= c["compute"][dtype]["value"] * (1 + 1e-12), (machine, device, where, v)
                elif ws >= 4 * llc:  # DRAM working sets only: in cache a kernel may go faster
                    found += 1
                    assert v <= c["bandwidth"]["value"] * (1 + 1e-12), (machine, device, where, v)
    assert found > 50  # the scan really saw the suite's figures


def test_the_ceiling_is_a_measured_rate_named_with_its_kernel(ceilings):
    for (machine, device), c in ceilings.items():
        results = committed()[(machine, device)]
        for kind, entry in [("bandwidth", c["bandwidth"])] + [(d, e) for d, e in c["compute"].items()]:
            if entry is None:
                continue
            result = results[entry["snippet"]][0][entry.get("repeat", 0)]  # the repeat it came from
            node = result
            for part in entry["path"].split("."):
                node = node[int(part)] if isinstance(node, list) else node[part]
            scale = 1000 if entry["path"].rsplit(".", 1)[-1].startswith("tflops") else 1
            assert node * scale == pytest.approx(entry["value"]), (kind, entry)
            assert entry["kernel"]


def test_roofline_points_sit_under_their_roofs(ceilings):
    from charts import roofline
    import build_results
    from charts import runs_by_snippet
    for r in runs_by_snippet(build_results.load_all()).get("roofline", []):
        if r["record"].get("quick"):
            continue
        rf = roofline.roofs(r)
        for k in r["result"]["kernels"]:
            if "status" in k or k["dtype"] not in rf["compute"]:
                continue
            i = k["intensity_flop_per_byte"]
            roof = min(rf["compute"][k["dtype"]]["value"], i * rf["bandwidth"]["value"])
            assert k["gflop_per_s_median"] <= roof * (1 + 1e-12), (k["name"], k["shape"])


@pytest.mark.parametrize("page,lang", [("roofline", "zh"), ("roofline", "en"),
                                       ("training", "zh"), ("training", "en")])
def test_pages_quote_the_ceiling(built_site, ceilings, page, lang):
    """The roofline and C2.3's utilisation quote the machine's ceiling, not one library's."""
    doc = (built_site / "site" / ("en/" if lang == "en" else "") / page / "index.html").read_text()
    text = re.sub(r"\s+:", ":", text_of(doc))  # `roofline.py`: ... reads "roofline.py :" in text
    (machine, _), c = next((k, v) for k, v in ceilings.items() if k[1] == "cpu")
    fp32 = c["compute"]["fp32"]
    if page == "roofline":
        assert f"{val(fp32['value'])} GFLOP/s" in text and f"{val(c['bandwidth']['value'])} GB/s" in text
    else:
        assert f"{fp32['value']:.0f} GFLOP/s" in text
    assert f"{fp32['snippet']}.py: {fp32['kernel']}" in text
    assert f"results/{machine}/{fp32['snippet']}.json" in doc


# ---------------------------------------------------------------- the ISA's arithmetic

def test_isa_peak_is_arithmetic_from_the_flags():
    from lib.ceilings import isa_peak
    cpu = {"usable_cores": 2, "clock_mhz": 2600.0, "isa": ["avx2", "avx512f", "fma"],
           "vendor": "GenuineIntel", "id": {"cpu family": "6"}}
    p = isa_peak({"cpu": cpu})
    assert p["fp32"]["gflop_per_s"] == pytest.approx(2 * 2 * 16 * 2 * 2.6)  # 332.8
    assert p["fp64"]["gflop_per_s"] == pytest.approx(2 * 2 * 8 * 2 * 2.6)
    assert "2 cores" in p["fp32"]["formula"] and "2.60 GHz" in p["fp32"]["formula"]
    zen4 = dict(cpu, vendor="AuthenticAMD", id={"cpu family": "25"})  # 512-bit ops on 256-bit units
    assert isa_peak({"cpu": zen4})["fp32"]["gflop_per_s"] == pytest.approx(2 * 2 * 8 * 2 * 2.6)
    assert isa_peak({"cpu": dict(cpu, isa=["avx2", "fma"])})["fp32"]["gflop_per_s"] == pytest.approx(166.4)
    assert isa_peak({"cpu": dict(cpu, isa=["avx2", "fma", "amx_bf16"])})["bf16"]["per_cycle_per_core"] == 2048
    assert isa_peak({"cpu": dict(cpu, isa=[])}) is None and isa_peak({"cpu": dict(cpu, clock_mhz=None)}) is None


# ---------------------------------------------------------------- datasheets

def test_datasheets_match_whole_models():
    from lib.datasheets import datasheet_for
    cases = {"NVIDIA H100 80GB HBM3": "H100 SXM", "NVIDIA H100 PCIe": "H100 PCIe",
             "NVIDIA H100 NVL": "H100 NVL", "NVIDIA H200": "H200 SXM", "NVIDIA H200 NVL": "H200 NVL",
             "NVIDIA A100-SXM4-80GB": "A100", "NVIDIA L40S": "L40S", "NVIDIA L4": "L4", "NVIDIA A10": "A10"}
    for name, model in cases.items():
        assert datasheet_for(name)["name"] == model, name
    for name in ("NVIDIA A10G", "NVIDIA L40", "Tesla V100-SXM2-16GB", "", None):
        assert datasheet_for(name) is None, name
    h100 = datasheet_for("NVIDIA H100 80GB HBM3")
    assert h100["sparse_tflops"]["bf16"] == 2 * h100["tflops"]["bf16"]  # dense and sparse both kept
    assert h100["gb_per_s"] == 3350 and datasheet_for("NVIDIA H100 PCIe")["gb_per_s"] == 2000


def test_gpt_train_keeps_the_same_dense_peaks_as_the_datasheet_table():
    """gpt_train.py stands alone, so it keeps its own copy of the peaks: the two must agree,
    model by model, and pick the same model for the same GPU name."""
    import importlib.util
    from lib.datasheets import DATASHEETS, datasheet_for
    spec = importlib.util.spec_from_file_location("gpt_train", ROOT / "snippets" / "gpt_train.py")
    g = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(g)
    for pattern, peaks in g.PEAK_TFLOPS:
        sheet = next(e for e in DATASHEETS if e["pattern"] == pattern)
        for dt, v in peaks.items():
            assert sheet["tflops"][dt] == v, (pattern, dt)
    for name in ("NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe", "NVIDIA H100 NVL", "NVIDIA H200",
                 "NVIDIA H200 NVL", "NVIDIA A100 80GB PCIe", "NVIDIA L40S", "NVIDIA L4", "NVIDIA A10"):
        assert g.lookup_peak(name, "bf16")[0] == datasheet_for(name)["tflops"]["bf16"], name
