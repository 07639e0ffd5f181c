"""Published per-socket figures of server CPU families, NOT measured here: the one table of them.

A measured CPU is often a slice of a server (two vCPUs of a VM), while a GPU is measured
whole. So beside every CPU-GPU comparison the pages give what one whole socket of the measured
CPU's family has, by datasheet arithmetic, labelled as such:

    memory bandwidth  = memory channels x transfer rate (MT/s) x 8 bytes per transfer
    fp32 peak         = cores x fp32 FLOP per cycle per core x base clock
                        (FLOP per cycle = FMA units x SIMD lanes x 2; at the base clock, since
                        all-core AVX-512 clocks are not published as one figure)

Each family is represented by its part with the most cores, named with its source.
A CPU is matched by vendor, family and model number as /proc/cpuinfo reports them; a VM may
report numbers that are not its host's, and then identify() says so and gives the families its
feature flags allow, instead of guessing one.

GB = 10^9 bytes throughout.
"""

_ARK = "Intel ARK, specifications of the Intel Xeon {} (https://ark.intel.com, searched by name)"
_AMD = "AMD, specifications of the AMD EPYC {} (https://www.amd.com/en/products/specifications/server-processor.html)"

# vendor, cpuid family, the cpuid model numbers of the family, and one representative part.
CPU_FAMILIES = [
    {"key": "intel-xeon-4", "vendor": "GenuineIntel", "family": "6", "models": ["143"],
     "name": "Intel Xeon 4th gen (Sapphire Rapids)", "name_zh": "第 4 代 Intel Xeon(Sapphire Rapids)", "part": "Platinum 8490H", "cores": 60,
     "base_ghz": 1.9, "channels": 8, "mt_per_s": 4800, "memory": "DDR5-4800",
     "fp32_flop_per_cycle": 64, "flags": ["amx_bf16", "avx512_fp16"],
     "source": _ARK.format("Platinum 8490H")},
    {"key": "intel-xeon-5", "vendor": "GenuineIntel", "family": "6", "models": ["207"],
     "name": "Intel Xeon 5th gen (Emerald Rapids)", "name_zh": "第 5 代 Intel Xeon(Emerald Rapids)", "part": "Platinum 8592+", "cores": 64,
     "base_ghz": 1.9, "channels": 8, "mt_per_s": 5600, "memory": "DDR5-5600",
     "fp32_flop_per_cycle": 64, "flags": ["amx_bf16", "avx512_fp16"],
     "source": _ARK.format("Platinum 8592+")},
    {"key": "intel-xeon-6p", "vendor": "GenuineIntel", "family": "6", "models": ["173"],
     "name": "Intel Xeon 6 P-core (Granite Rapids)", "name_zh": "Intel Xeon 6 性能核(Granite Rapids)", "part": "6980P", "cores": 128,
     "base_ghz": 2.0, "channels": 12, "mt_per_s": 6400, "memory": "DDR5-6400",
     "fp32_flop_per_cycle": 64, "flags": ["amx_bf16", "avx512_fp16"],
     "source": _ARK.format("6980P")},
    {"key": "amd-epyc-9004", "vendor": "AuthenticAMD", "family": "25", "models": ["17"],
     "name": "AMD EPYC 9004 (Genoa, Zen 4)", "name_zh": "AMD EPYC 9004(Genoa,Zen 4)", "part": "9654", "cores": 96,
     "base_ghz": 2.4, "channels": 12, "mt_per_s": 4800, "memory": "DDR5-4800",
     # Zen 4 runs AVX-512 on 256-bit units: 2 FMA x 8 fp32 lanes x 2
     "fp32_flop_per_cycle": 32, "flags": ["avx512f"], "source": _AMD.format("9654")},
    {"key": "amd-epyc-9005", "vendor": "AuthenticAMD", "family": "26", "models": ["2"],
     "name": "AMD EPYC 9005 (Turin, Zen 5)", "name_zh": "AMD EPYC 9005(Turin,Zen 5)", "part": "9755", "cores": 128,
     "base_ghz": 2.7, "channels": 12, "mt_per_s": 6000, "memory": "DDR5-6000",
     "fp32_flop_per_cycle": 64, "flags": ["avx512f"], "source": _AMD.format("9755")},
]

# cpuid numbers that a VM reports but that belong to no family above, with what they are.
KNOWN_MODELS = {
    ("GenuineIntel", "6", "167"): {
        "zh": "family 6 model 167 是 Intel 给 Rocket Lake(第 11 代酷睿桌面处理器)的编号,"
              "而 Rocket Lake 没有 AMX",
        "en": "family 6 model 167 is Intel's number for Rocket Lake (11th-gen Core desktop "
              "chips), which have no AMX"},
}


def per_socket(entry):
    """One socket of a family, by datasheet arithmetic: GB/s and fp32 GFLOP/s, with formulas."""
    gb = entry["channels"] * entry["mt_per_s"] * 8 / 1000
    gflops = entry["cores"] * entry["fp32_flop_per_cycle"] * entry["base_ghz"]
    return {**entry, "gb_per_s": gb, "fp32_gflop_per_s": gflops,
            "gb_formula": f"{entry['channels']} × {entry['memory']} × 8 B",
            "fp32_formula": f"{entry['cores']} cores × {entry['fp32_flop_per_cycle']} FLOP/cycle "
                            f"× {entry['base_ghz']:.1f} GHz"}


def identify(cpu):
    """Which family a measured CPU (a machine record's "cpu") belongs to.

    Returns {"identified": bool, "entries": [per_socket(...)], "why": {"zh", "en"}}: one entry
    when vendor, family and model match; else the families of that vendor whose flags the CPU
    has (it may be any of them), with the reason; no entry when nothing fits."""
    cpu = cpu or {}
    ident = cpu.get("id") or {}
    vendor, fam, model = cpu.get("vendor"), str(ident.get("cpu family")), str(ident.get("model"))
    flags = set(cpu.get("isa") or [])
    for e in CPU_FAMILIES:
        if e["vendor"] == vendor and e["family"] == fam and model in e["models"]:
            return {"identified": True, "entries": [per_socket(e)],
                    "why": {"zh": f"按 CPU 报告的 family {fam} model {model} 认定为 {e['name_zh']}",
                            "en": f"Identified as {e['name']} from its family {fam} model {model}"}}
    fits = [per_socket(e) for e in CPU_FAMILIES
            if e["vendor"] == vendor and set(e["flags"]) <= flags]
    known = KNOWN_MODELS.get((vendor, fam, model))
    names = "、".join(e["name_zh"] for e in fits)
    names_en = ", ".join(e["name"] for e in fits)
    if fits:
        flag_text = ", ".join(sorted(set().union(*(e["flags"] for e in fits)) & flags))
        vm = describe(cpu)["vm"]
        zh = (f"无法从{'虚拟机' if vm else '这颗 CPU '}报告的信息认定 CPU 系列:型号名“{cpu.get('model', '?')}”没有具体型号,"
              + (known["zh"] + ",与它报告的指令集不符;" if known else f"family {fam} model {model} 不在表中;")
              + f"它报告的 {flag_text} 只说明它可能是 {names} 中的任何一种,所以这里给出这几种的范围")
        en = (f"The family cannot be identified from what the {'VM' if vm else 'CPU'} reports: the model name "
              f"'{cpu.get('model', '?')}' names no part, "
              + (known["en"] + ", at odds with the flags it reports; " if known
                 else f"family {fam} model {model} is not in the table; ")
              + f"its flags ({flag_text}) say only that it may be any of {names_en}, so the "
                f"range over these is given")
        return {"identified": False, "entries": fits, "why": {"zh": zh, "en": en}}
    return {"identified": False, "entries": [],
            "why": {"zh": f"表中没有与这颗 CPU(“{cpu.get('model', '?')}”,family {fam} model {model})相符的系列",
                    "en": f"No family in the table fits this CPU ('{cpu.get('model', '?')}', family "
                          f"{fam} model {model})"}}


def describe(cpu):
    """What was measured, in words: {"zh", "en"}, e.g. "2 vCPUs of an Intel Xeon VM".

    A model name that names no part ("Intel(R) Xeon(R) Processor") is what hypervisors present,
    and a VM's cores are vCPUs; otherwise the model name and the cores used are given."""
    import re
    cpu = cpu or {}
    model = cpu.get("model") or "CPU"
    n = cpu.get("usable_cores") or cpu.get("logical_cores") or "?"
    brand = re.sub(r"\s+", " ", re.sub(r"\((R|TM)\)|\b(CPU|Processor)\b|@.*$", " ", model,
                                       flags=re.I)).strip() or "CPU"
    article = "an" if brand[:1].lower() in "aeiou" else "a"
    if not re.search(r"\d", model):  # a masked name: a VM
        return {"zh": f"{brand} 虚拟机的 {n} 个 vCPU",
                "en": f"{n} vCPU{'s' if n != 1 else ''} of {article} {brand} VM", "vm": True}
    return {"zh": f"{brand} 的 {n} 个逻辑核心", "en": f"{n} logical cores of {article} {brand}", "vm": False}
