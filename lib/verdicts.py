"""Each claim's verdict, from a rule over the results: the one place where a verdict is decided.

A verdict has a status (STATUS: holds, holds with qualifiers, does not hold, undecided), a
one-sentence reason in each language, and the measurement that decides it. Where the deciding
side was not measured (no GPU run yet), the verdict is "undecided" and says what is missing.
A datasheet figure may stand beside a verdict, labelled, but never decides one: no rule below
reads lib/datasheets.py except to fill the `reference` field.

    compute(runs, featured)  every verdict, {claim id: verdict}; runs from
                             charts.runs_by_snippet(), featured from lib/featured.py
    CLAIMS                   the claims in order: id, label, chapter page

A verdict is a dict:
    id, label ("C1.2"), page ("training.md"), status (a STATUS key), title {zh, en},
    reason {zh, en} (one sentence), decided_by {zh, en}, missing {zh, en} or None,
    figure {zh, en} (what the deciding figure is), unit, cpu / gpu (the figures compared:
    {"value", "text" {zh, en}, "run"} or None), ratio (gpu / cpu, or None),
    reference ({"text" {zh, en}, "source", "url"} or None), files (results files it read).

Which runs are compared: the GPU run is the featured machine's where it measured a GPU, else
the machine with the most GPU runs (a --quick GPU run never counts); the CPU run is that same
machine's CPU run where one exists (one box's CPU against its own GPU), else the featured
CPU's. These are the runs the pages' val() quotes in the default case.
"""
import math

from lib.cpu_datasheets import describe as describe_cpu

STATUS = {
    "holds": {"zh": "成立", "en": "holds"},
    "qualified": {"zh": "成立但有限定", "en": "holds with qualifiers"},
    "fails": {"zh": "不成立", "en": "does not hold"},
    "undecided": {"zh": "待定", "en": "undecided"},
}

CLAIMS = [
    ("c0", "C0", "factcheck.md"),
    ("c1-1", "C1.1", "parallel.md"),
    ("c1-2", "C1.2", "training.md"),
    ("c2-1", "C2.1", "flops.md"),
    ("c2-2", "C2.2", "flops.md"),
    ("c2-3", "C2.3", "training.md"),
    ("c3-1", "C3.1", "bandwidth.md"),
    ("c3-2", "C3.2", "training.md"),
    ("c4-1", "C4.1", "framework.md"),
    ("c4-2", "C4.2", "framework.md"),
    ("c5-1", "C5.1", "cpu-role.md"),
    ("c5-2", "C5.2", "cpu-role.md"),
    ("x1", "X1", "distributed.md"),
    ("x2", "X2", "roofline.md"),
]

# The rules' thresholds, named once (the pages quote them through the rule() macro).
RULES = {
    "much": 3.0,               # "much faster / much higher": at least 3x
    "epochs": 100,             # a training run of this many epochs of the data set ...
    "practical_s": 2 * 86400,  # ... is practical when it finishes within two days
    "tens_low": 10,            # "tens of GFLOPS": 10 to 100 GFLOP/s
    "tens_high": 100,
    "thousands_tflops": 1000,  # "thousands of TFLOPS": at least 1,000 TFLOP/s
    "mostly": 0.5,             # "mostly" / "dominated by": more than half the measured time
    "more_precise": 0.5,       # "more precise": at most half the error of the other device
    "a_lot": 4,                # "a lot of memory": a step's peak at least 4x the fp32 weights
    "fed": 0.10,               # the GPU gets its input on time: it waits at most 10% of the time
    "sequence": 2048,          # tokens in one sequence, the unit the X1 rule counts in
    "roof": 0.5,               # a kernel is "near its roof" at half of min(P, I x B) or more
    "over_roof": 1.1,          # a kernel above 1.1x its roof breaks the model
}

REFERENCE_GPU = "H100 SXM"   # the datasheet shown beside an unmeasured GPU side


def L(zh, en):
    return {"zh": zh, "en": en}


def fmt(x, digits=3):
    """A number as the pages' val() writes it: 3 significant digits, thousands separated."""
    if x is None:
        return "–"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def pct(x):
    return f"{100 * x:.0f}%"


def dur(s):
    """A duration in words, as the training page's dur() writes it."""
    if s < 120:
        return L(f"{s:.0f} 秒", f"{s:.0f} s")
    if s < 7200:
        return L(f"{s / 60:.0f} 分钟", f"{s / 60:.0f} minutes")
    return L(f"{s / 3600:.1f} 小时", f"{s / 3600:.1f} hours")


# ---------------------------------------------------------------- the runs a verdict reads

def at(run, path):
    """The value at a dotted path of a run's result (negative list indices allowed), or None.
    A figure measured in several independent runs (--repeat) is their median, as the pages
    quote it (site_macros.lookup)."""
    if run is None:
        return None
    nums = sorted(v for v in (_at(res, path) for res in run.get("repeats") or [])
                  if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v))
    if len(nums) > 1:
        n = len(nums)
        return nums[n // 2] if n % 2 else (nums[n // 2 - 1] + nums[n // 2]) / 2
    return _at(run["result"], path)


def _at(result, path):
    value = result
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
        if value is None:
            return None
    return value


def num(run, path):
    v = at(run, path)
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) else None


class Results:
    """The runs the verdicts compare (see the module docstring)."""

    def __init__(self, runs, featured=None):
        self.runs, self.home = runs, featured

    @staticmethod
    def usable(r, device):
        return r["device"] == device and not (device == "cuda" and r["record"].get("quick"))

    def featured(self, device):
        count = {}
        for rs in self.runs.values():
            for r in rs:
                if self.usable(r, device):
                    n, newest = count.get(r["machine"], (0, ""))
                    count[r["machine"]] = (n + 1, max(newest, r["record"]["measured_at"]))
        if self.home in count:
            return self.home
        return max(count, key=lambda m: count[m]) if count else None

    def run(self, snippet, device, machine=None):
        cands = [r for r in self.runs.get(snippet, []) if self.usable(r, device)]
        if machine is not None:
            cands = [r for r in cands if r["machine"] == machine]
        if not cands:
            return None
        home = [r for r in cands if r["machine"] == self.featured(device)]
        return max(home or cands, key=lambda r: r["record"]["measured_at"])

    def gpu(self, snippet):
        return self.run(snippet, "cuda")

    def cpu(self, snippet, gpu=None):
        """The CPU run to set against `gpu`: the GPU box's own CPU first."""
        own = self.run(snippet, "cpu", gpu["machine"]) if gpu else None
        return own or self.run(snippet, "cpu")

    def pair(self, snippet):
        g = self.gpu(snippet)
        return self.cpu(snippet, g), g

    def ceilings(self, run):
        return (run or {}).get("ceilings") or {}


def cpu_name(run):
    return describe_cpu(((run or {}).get("info") or {}).get("cpu"))


def gpu_name(run):
    """The GPU model (one GPU: the snippets other than allreduce run on one)."""
    return (((run or {}).get("info") or {}).get("gpu") or {}).get("name") or (run or {}).get("label") or "GPU"


def side(value, unit, run, digits=3, text=None):
    if value is None and text is None:
        return None
    if text is None and unit is U["x"]:
        text = L(f"{value:.2f}×", f"{value:.2f}×")
    return {"value": value, "run": run,
            "text": text or L(f"{fmt(value, digits)} {unit['zh']}".strip(), f"{fmt(value, digits)} {unit['en']}".strip())}


def missing_gpu(*snippets):
    names = "、".join(f"`{s}`" for s in snippets)
    names_en = ", ".join(f"`{s}`" for s in snippets)
    return L(f"GPU 上的 {names} 结果(在有 GPU 的机器上运行 `python build_results.py` 即可补上)",
             f"a GPU run of {names_en} (running `python build_results.py` on a machine with a GPU adds it)")


def reference_sheet(gpu_run=None):
    """The datasheet beside a GPU side: the measured GPU's own, else REFERENCE_GPU's."""
    from lib.datasheets import by_name, datasheet_for
    sheet = datasheet_for(((gpu_run or {}).get("info") or {}).get("gpu", {}).get("name")) if gpu_run else None
    return sheet or (by_name(REFERENCE_GPU) if gpu_run is None else None)


def datasheet_ref(sheet, zh, en):
    if not sheet:
        return None
    return {"text": L(f"{sheet['name']} 数据手册(非实测):{zh}", f"{sheet['name']} datasheet (not measured): {en}"),
            "source": sheet["source"], "url": sheet["url"]}


_CJK = "\u4e00-\u9fff"


def spaced(zh):
    """Chinese text with a space between a Han character and Latin letters or digits, as the
    pages write it ("在 CPU 上"), whatever the pieces it was assembled from."""
    import re
    zh = re.sub(f"(?<=[{_CJK}])(?=[A-Za-z0-9`])", " ", zh)
    return re.sub(f"(?<=[A-Za-z0-9`%])(?=[{_CJK}])", " ", zh)


def verdict(cid, status, reason, decided_by, figure, unit=None, cpu=None, gpu=None, ratio=None,
            missing=None, reference=None, files=(), socket=None):
    label, page = next((lab, pg) for c, lab, pg in CLAIMS if c == cid)
    for text in (reason, decided_by, missing, figure):
        if text:
            text["zh"] = spaced(text["zh"])
            if text is not figure:  # sentences start with a capital; a figure's name as written
                text["en"] = text["en"][:1].upper() + text["en"][1:]
    return {"id": cid, "label": label, "page": page, "status": status, "title": STATUS[status],
            "reason": reason, "decided_by": decided_by, "missing": missing, "figure": figure,
            "unit": unit or L("", ""), "cpu": cpu, "gpu": gpu, "ratio": ratio,
            "reference": reference, "socket": socket, "files": [f for f in files if f]}


def socket_note(cpu_run, kind):
    """One whole socket of the measured CPU's family by datasheet arithmetic, as a side note
    ({zh, en}), or None when the family is not in lib/cpu_datasheets.py."""
    lo, hi, _ = socket_range(cpu_run, kind)
    if lo is None:
        return None
    span = fmt(lo) if lo == hi else f"{fmt(lo)}–{fmt(hi)}"
    unit = "GB/s" if kind == "bandwidth" else "GFLOP/s (fp32)"
    return L(f"这颗 CPU 所属系列一整颗插槽(数据手册算术,非实测):{span} {unit}",
             f"one whole socket of this CPU's family (datasheet arithmetic, not measured): {span} {unit}")


def _file(run):
    return run["path"] if run else None


U = {"img": L("张图像/秒", "images/s"), "tflops": L("TFLOP/s", "TFLOP/s"),
     "gflops": L("GFLOP/s", "GFLOP/s"), "gbs": L("GB/s", "GB/s"), "x": L("×", "×"),
     "samples": L("个样本/秒", "samples/s"), "flopb": L("FLOP/字节", "FLOP/byte"),
     "ms": L("毫秒", "ms"), "err": L("", "")}


# ---------------------------------------------------------------- the rules, one per claim

def c1_1(R):
    c, g = R.pair("parallel")
    cpu, gpu = num(c, "conv.points.-1.images_per_s"), num(g, "conv.points.-1.images_per_s")
    sp, nt = num(c, "cpu_threads.points.-1.speedup_vs_1_thread"), num(c, "cpu_threads.points.-1.threads")
    who = cpu_name(c)
    threads = (L(f"{who['zh']}从 1 个线程加到 {nt:.0f} 个,卷积快了 {sp:.2f} 倍",
                 f"on {who['en']} the convolution ran {sp:.2f}× as fast going from 1 thread to {nt:.0f}")
               if sp and nt else L("", ""))
    by = L("`parallel.json`:3×3 卷积在各设备所测最大批大小下的每秒图像数(`conv.points.-1.images_per_s`),GPU ÷ CPU",
           "`parallel.json`: images/s of the 3×3 convolution at each device's largest batch "
           "(`conv.points.-1.images_per_s`), GPU ÷ CPU")
    fig = L("3×3 卷积,最大批大小", "3×3 convolution, largest batch")
    base = dict(decided_by=by, figure=fig, unit=U["img"], cpu=side(cpu, U["img"], c),
                files=[_file(c), _file(g)])
    if gpu is None or not cpu:
        return verdict("c1-1", "undecided",
                       L(f"GPU 一侧还没有实测,“GPU 并行得多得多”无从检验;已测的只有 CPU 一侧:{threads['zh']}。",
                         f"The GPU side is not measured, so 'far more parallel on a GPU' cannot be "
                         f"tested yet; only the CPU side is: {threads['en']}."),
                       missing=missing_gpu("parallel"), **base)
    ratio = gpu / cpu
    c0, g0 = num(c, "elementwise.points.0.median_s"), num(g, "elementwise.points.0.median_s")
    base.update(gpu=side(gpu, U["img"], g), ratio=ratio)
    if ratio < RULES["much"]:
        return verdict("c1-1", "fails",
                       L(f"在各自最大的批上,{gpu_name(g)} 的卷积只有 {who['zh']}的 {ratio:.2g} 倍,算不上并行得多得多。",
                         f"At each device's largest batch the convolution on {gpu_name(g)} ran only "
                         f"{ratio:.2g}× as fast as on {who['en']}: not far more parallel."), **base)
    if c0 and g0 and g0 > c0:
        return verdict("c1-1", "qualified",
                       L(f"大批量时 {gpu_name(g)} 的卷积是 {who['zh']}的 {ratio:.0f} 倍,但最小规模的逐元素运算 CPU 更快"
                         f"({c0 * 1e6:.2f} 对 {g0 * 1e6:.2f} µs):工作量太小时 GPU 的宽度用不上。",
                         f"At large batches the convolution on {gpu_name(g)} ran {ratio:.0f}× as fast as on "
                         f"{who['en']}, but the CPU was faster at the smallest elementwise size "
                         f"({c0 * 1e6:.2f} against {g0 * 1e6:.2f} µs): tiny work cannot use a GPU's width."), **base)
    return verdict("c1-1", "holds",
                   L(f"大批量时 {gpu_name(g)} 的卷积是 {who['zh']}的 {ratio:.0f} 倍,最小规模上 GPU 也不慢。",
                     f"At large batches the convolution on {gpu_name(g)} ran {ratio:.0f}× as fast as on "
                     f"{who['en']}, and the GPU was not slower at the smallest size either."), **base)


def _cnn(R):
    c, g = R.pair("cnn_train")
    return c, g, num(c, "precisions.fp32.images_per_s"), num(g, "precisions.fp32.images_per_s")


def c1_2(R):
    c, g, cpu, gpu = _cnn(R)
    who = cpu_name(c)
    epoch = num(c, "precisions.fp32.projected_epoch_s")
    n = RULES["epochs"]
    run_s = epoch * n if epoch else None
    practical = run_s is not None and run_s <= RULES["practical_s"]
    cpu_half = (L(f"{who['zh']}推算训练 {n} 轮要 {dur(run_s)['zh']},"
                  + ("这个规模下并不算“慢到不实用”" if practical else "已经慢到难以实用"),
                  f"{who['en']} would need a projected {dur(run_s)['en']} for {n} epochs, "
                  + ("not 'too slow to be practical' at this scale" if practical else "too slow to be practical"))
                if run_s else L("CPU 一侧没有推算出每轮时间", "no epoch time was projected on the CPU"))
    by = L("`cnn_train.json`:fp32 训练吞吐(`precisions.fp32.images_per_s`),GPU ÷ CPU;"
           f"以及 CPU 上推算的 {n} 轮时间(`precisions.fp32.projected_epoch_s` × {n})",
           "`cnn_train.json`: fp32 training throughput (`precisions.fp32.images_per_s`), GPU ÷ CPU; "
           f"and the CPU's projected time for {n} epochs (`precisions.fp32.projected_epoch_s` × {n})")
    base = dict(decided_by=by, figure=L("小型 ResNet 训练,fp32", "small ResNet training, fp32"),
                unit=U["img"], cpu=side(cpu, U["img"], c), files=[_file(c), _file(g)])
    if gpu is None or not cpu:
        return verdict("c1-2", "undecided",
                       L(f"“GPU 快得多”要等 GPU 实测;已测的一半不支持“只用 CPU 慢到不实用”:{cpu_half['zh']}。",
                         f"'Much faster on a GPU' waits for a GPU run; the half that is measured does not "
                         f"show 'too slow on a CPU': {cpu_half['en']}."),
                       missing=missing_gpu("cnn_train"), **base)
    ratio = gpu / cpu
    base.update(gpu=side(gpu, U["img"], g), ratio=ratio)
    if ratio < RULES["much"]:
        return verdict("c1-2", "fails",
                       L(f"同为 fp32,{gpu_name(g)} 只是 {who['zh']}的 {ratio:.2g} 倍,算不上“快得多”。",
                         f"In the same fp32, {gpu_name(g)} trained only {ratio:.2g}× as fast as "
                         f"{who['en']}: not 'much faster'."), **base)
    if practical:
        return verdict("c1-2", "qualified",
                       L(f"同为 fp32,{gpu_name(g)} 是 {who['zh']}的 {ratio:.0f} 倍,“快得多”成立;但{cpu_half['zh']}。",
                         f"In the same fp32, {gpu_name(g)} trained {ratio:.0f}× as fast as {who['en']}: "
                         f"'much faster' holds; but {cpu_half['en']}."), **base)
    return verdict("c1-2", "holds",
                   L(f"同为 fp32,{gpu_name(g)} 是 {who['zh']}的 {ratio:.0f} 倍;而{cpu_half['zh']}。",
                     f"In the same fp32, {gpu_name(g)} trained {ratio:.0f}× as fast as {who['en']}, "
                     f"and {cpu_half['en']}."), **base)


def _best_matmul(run):
    """(TFLOP/s, dtype) of the fastest dtype of a matmul run (torch or numpy)."""
    best = (None, None)
    for dt, e in ((at(run, "dtypes") or {}).items()):
        v = num(run, f"dtypes.{dt}.best.tflops")
        if v and (best[0] is None or v > best[0]):
            best = (v, dt)
    return best


def _fp32_best(run):
    vals = [v for v in (num(run, "dtypes.fp32.best.tflops"), num(run, "numpy.fp32.best.tflops")) if v]
    return max(vals) if vals else None


def c2_1(R):
    c, g = R.pair("matmul")
    who = cpu_name(c)
    e32, e16 = num(c, "dtypes.fp32.rel_err_vs_fp64"), num(c, "dtypes.bf16.rel_err_vs_fp64")
    by = L("`matmul.json`:fp32 矩阵乘法相对 fp64 的误差(`dtypes.fp32.rel_err_vs_fp64`),GPU 对 CPU;"
           "以及各自最快数据类型的吞吐(`dtypes.*.best.tflops`)",
           "`matmul.json`: the fp32 matmul's error against fp64 (`dtypes.fp32.rel_err_vs_fp64`), GPU "
           "against CPU; and each device's fastest dtype (`dtypes.*.best.tflops`)")
    base = dict(decided_by=by, figure=L("fp32 矩阵乘法相对 fp64 的误差", "fp32 matmul error against fp64"),
                unit=U["err"], cpu=side(e32, U["err"], c, 2), files=[_file(c), _file(g)])
    ge32 = num(g, "dtypes.fp32.rel_err_vs_fp64")
    if ge32 is None or not e32:
        low = (L(f"已测的只有 CPU:{who['zh']}上 bf16(GPU 的高吞吐正来自这类低精度格式)的误差是 fp32 的 {e16 / e32:,.0f} 倍",
                 f"only the CPU is measured: on {who['en']} bf16 (the kind of low-precision format a GPU's "
                 f"speed comes from) errs {e16 / e32:,.0f}× as much as fp32")
               if e16 and e32 else L("CPU 一侧没有 bf16 的误差", "the CPU has no bf16 error measured"))
        return verdict("c2-1", "undecided",
                       L(f"GPU 是否“更快、更精确”要等 GPU 实测;{low['zh']}。",
                         f"Whether a GPU is 'faster and more precise' waits for a GPU run; {low['en']}."),
                       missing=missing_gpu("matmul"), **base)
    (gb, gdt), (cb, cdt) = _best_matmul(g), _best_matmul(c)
    faster = bool(gb and cb and gb > cb)
    precise = ge32 <= RULES["more_precise"] * e32
    base.update(gpu=side(ge32, U["err"], g, 2), ratio=ge32 / e32)
    speed = L(f"最快的数据类型 GPU {fmt(gb)} TFLOP/s({gdt})对 CPU {fmt(cb)} TFLOP/s({cdt})",
              f"fastest dtype {fmt(gb)} TFLOP/s ({gdt}) on the GPU against {fmt(cb)} ({cdt}) on the CPU")
    err = L(f"fp32 误差 GPU {ge32:.2g}、CPU {e32:.2g}", f"fp32 error {ge32:.2g} on the GPU, {e32:.2g} on the CPU")
    if faster and precise:
        return verdict("c2-1", "holds", L(f"更快({speed['zh']}),也更精确({err['zh']})。",
                                          f"Faster ({speed['en']}) and more precise ({err['en']})."), **base)
    if faster:
        return verdict("c2-1", "fails",
                       L(f"“更快”成立({speed['zh']}),“更精确”不成立({err['zh']}:同一数据类型,误差同一量级)。",
                         f"'Faster' holds ({speed['en']}); 'more precise' does not ({err['en']}: the same "
                         f"dtype errs alike)."), **base)
    return verdict("c2-1", "fails", L(f"GPU 并不更快({speed['zh']})。", f"The GPU was not faster ({speed['en']})."),
                   **base)


def c2_2(R):
    c, g = R.pair("matmul")
    who = cpu_name(c)
    cpu = _fp32_best(c)
    gb, gdt = _best_matmul(g)
    sheet = reference_sheet(g)
    ref = datasheet_ref(sheet,
                        f"bf16 稠密 {fmt(sheet['tflops']['bf16'], 4)}、fp8 稀疏 {fmt(max(sheet['sparse_tflops'].values()), 4)} TFLOP/s",
                        f"bf16 dense {fmt(sheet['tflops']['bf16'], 4)}, fp8 sparse "
                        f"{fmt(max(sheet['sparse_tflops'].values()), 4)} TFLOP/s") if sheet else None
    by = L("`matmul.json`:CPU 的 fp32 最佳吞吐(torch 与 numpy 取高者,`dtypes.fp32.best.tflops`、`numpy.fp32.best.tflops`);"
           "GPU 各数据类型中的最佳吞吐(`dtypes.*.best.tflops`)",
           "`matmul.json`: the CPU's best fp32 rate (the higher of torch and numpy, "
           "`dtypes.fp32.best.tflops`, `numpy.fp32.best.tflops`); the GPU's best rate of any dtype "
           "(`dtypes.*.best.tflops`)")
    base = dict(decided_by=by, figure=L("矩阵乘法最佳吞吐", "best matmul rate"), unit=U["tflops"],
                cpu=side(cpu, U["tflops"], c, text=L(f"{fmt(cpu * 1000)} GFLOP/s(fp32)", f"{fmt(cpu * 1000)} GFLOP/s (fp32)")) if cpu else None,
                reference=ref, files=[_file(c), _file(g)], socket=socket_note(c, "fp32"))
    if cpu is None:
        return verdict("c2-2", "undecided", L("CPU 一侧也没有 fp32 矩阵乘法的结果。", "No fp32 matmul was measured on the CPU either."),
                       missing=L("CPU 上的 `matmul` 结果", "a CPU run of `matmul`"), **base)
    gf = cpu * 1000
    lo, hi = RULES["tens_low"], RULES["tens_high"]
    cpu_holds = lo <= gf < hi
    cpu_half = (L(f"{who['zh']}的 fp32 为 {fmt(gf)} GFLOP/s,与“数十 GFLOPS”相符",
                  f"{who['en']} reached {fmt(gf)} GFLOP/s in fp32, in line with 'tens of GFLOPS'") if cpu_holds else
                L(f"{who['zh']}的 fp32 就已达到 {fmt(gf)} GFLOP/s,不是“数十 GFLOPS”" if gf >= hi else
                  f"{who['zh']}的 fp32 只有 {fmt(gf)} GFLOP/s,连“数十 GFLOPS”都不到",
                  f"{who['en']} already reached {fmt(gf)} GFLOP/s in fp32, not 'tens of GFLOPS'" if gf >= hi else
                  f"{who['en']} reached only {fmt(gf)} GFLOP/s in fp32, under 'tens of GFLOPS'"))
    if gb is None:
        if not cpu_holds:
            return verdict("c2-2", "fails",
                           L(f"CPU 这一半不成立:{cpu_half['zh']};GPU 一半还没有实测。",
                             f"The CPU half fails: {cpu_half['en']}; the GPU half is not measured yet."),
                           missing=missing_gpu("matmul"), **base)
        return verdict("c2-2", "undecided",
                       L(f"GPU 一半(“数千 TFLOPS”)要等 GPU 实测;CPU 一半:{cpu_half['zh']}。",
                         f"The GPU half ('thousands of TFLOPS') waits for a GPU run; the CPU half: {cpu_half['en']}."),
                       missing=missing_gpu("matmul"), **base)
    same = num(c, f"dtypes.{gdt}.best.tflops")
    base.update(gpu=side(gb, U["tflops"], g, text=L(f"{fmt(gb)} TFLOP/s({gdt})", f"{fmt(gb)} TFLOP/s ({gdt})")),
                ratio=gb / same if same else None)
    gpu_holds = gb >= RULES["thousands_tflops"]
    gpu_half = (L(f"{gpu_name(g)} 最快的 {gdt} 达到 {fmt(gb)} TFLOP/s", f"{gpu_name(g)} reached {fmt(gb)} TFLOP/s in {gdt}")
                if gpu_holds else
                L(f"{gpu_name(g)} 最快的 {gdt} 只有 {fmt(gb)} TFLOP/s,不到“数千 TFLOPS”",
                  f"{gpu_name(g)}'s fastest dtype, {gdt}, reached {fmt(gb)} TFLOP/s, short of 'thousands'"))
    if cpu_holds and gpu_holds:
        return verdict("c2-2", "qualified",
                       L(f"两半都成立:{gpu_half['zh']},{cpu_half['zh']};但要按数据类型比较。",
                         f"Both halves hold: {gpu_half['en']}, {cpu_half['en']}; but compare dtype by dtype."), **base)
    return verdict("c2-2", "fails",
                   L(f"{gpu_half['zh']};{cpu_half['zh']}。", f"{gpu_half['en']}; {cpu_half['en']}."), **base)


def c2_3(R):
    c, g = R.pair("gpt_train")
    who = cpu_name(c)
    share_c = num(c, "profile.matmul_plus_attention_share")
    share_g = num(g, "profile.matmul_plus_attention_share")
    tc, tg = num(c, "timing.tflops_median"), num(g, "timing.tflops_median")
    by = L("`gpt_train.json`:剖析中矩阵乘法加注意力占步时间的比例(`profile.matmul_plus_attention_share`,在 GPU 上),"
           "以及实际 TFLOP/s 之比(`timing.tflops_median`,GPU ÷ CPU)",
           "`gpt_train.json`: the share of step time in matrix multiply plus attention "
           "(`profile.matmul_plus_attention_share`, on the GPU), and the achieved TFLOP/s "
           "(`timing.tflops_median`, GPU ÷ CPU)")
    sheet = reference_sheet(g)
    base = dict(decided_by=by, figure=L("小型 GPT 训练,实际算力", "small GPT training, achieved rate"),
                unit=U["tflops"], cpu=side(tc, U["tflops"], c),
                reference=datasheet_ref(sheet, f"bf16 稠密峰值 {fmt(sheet['tflops']['bf16'], 4)} TFLOP/s",
                                        f"dense bf16 peak {fmt(sheet['tflops']['bf16'], 4)} TFLOP/s") if sheet else None,
                files=[_file(c), _file(g)])
    if tg is None or not tc or share_g is None:
        cpu_part = (L(f"在 {who['zh']}上,矩阵乘法加注意力占了训练步时间的 {pct(share_c)}",
                      f"on {who['en']} matrix multiply plus attention took {pct(share_c)} of a training step")
                    if share_c is not None else L("CPU 一侧没有剖析结果", "the CPU has no profile"))
        return verdict("c2-3", "undecided",
                       L(f"GPU 的算力能把训练加速多少要等 GPU 实测;{cpu_part['zh']}。",
                         f"How much a GPU's FLOPS speed training up waits for a GPU run; {cpu_part['en']}."),
                       missing=missing_gpu("gpt_train"), **base)
    speed = tg / tc
    base.update(gpu=side(tg, U["tflops"], g), ratio=speed)
    if share_g < RULES["mostly"]:
        return verdict("c2-3", "fails",
                       L(f"在 {gpu_name(g)} 上矩阵乘法加注意力只占 {pct(share_g)} 的时间,谈不上“以矩阵乘加为主”。",
                         f"On {gpu_name(g)} matrix multiply plus attention took only {pct(share_g)} of the time: "
                         f"not 'mostly matrix multiply-add'."), **base)
    if speed < RULES["much"]:
        return verdict("c2-3", "fails",
                       L(f"{gpu_name(g)} 的实际算力只有 {who['zh']}的 {speed:.2g} 倍,GPU 的 FLOPS 没有带来多少加速。",
                         f"{gpu_name(g)} achieved only {speed:.2g}× the TFLOP/s of {who['en']}: its FLOPS did "
                         f"not speed training up much."), **base)
    return verdict("c2-3", "qualified",
                   L(f"{gpu_name(g)} 上矩阵乘法加注意力占 {pct(share_g)},实际算力是 {who['zh']}的 {speed:.0f} 倍;"
                     f"但其余 {pct(1 - share_g)} 不受 FLOPS 限制,只加速矩阵乘法最多快 {1 / (1 - share_g):.1f} 倍。",
                     f"On {gpu_name(g)} matrix multiply plus attention took {pct(share_g)} and it achieved "
                     f"{speed:.0f}× the TFLOP/s of {who['en']}; but the other {pct(1 - share_g)} is not bound "
                     f"by FLOPS, so faster matrix products alone give at most {1 / (1 - share_g):.1f}×."), **base)


def socket_range(cpu_run, kind):
    """(low, high, identify()) of the per-socket datasheet arithmetic of a CPU run's family."""
    from lib.cpu_datasheets import identify
    ident = identify(((cpu_run or {}).get("info") or {}).get("cpu"))
    key = "gb_per_s" if kind == "bandwidth" else "fp32_gflop_per_s"
    vals = [e[key] for e in ident["entries"]]
    return (min(vals) if vals else None, max(vals) if vals else None, ident)


def _slice(cpu_run):
    """Is the measured CPU fewer cores than a whole socket of every family it may be?"""
    from lib.cpu_datasheets import identify
    ident = identify(((cpu_run or {}).get("info") or {}).get("cpu"))
    n = (((cpu_run or {}).get("info") or {}).get("cpu") or {}).get("usable_cores")
    return bool(n and ident["entries"] and all(n < e["cores"] for e in ident["entries"]))


def c3_1(R):
    c, g = R.pair("bandwidth")
    who = cpu_name(c)
    cpu, gpu = num(c, "best_gb_per_s"), num(g, "best_gb_per_s")
    p = R.run("gpt_train", "cpu", c["machine"] if c else None) or R.run("gpt_train", "cpu")
    mm, other = num(p, "profile.matmul_share"), num(p, "profile.matmul_plus_attention_share")
    profile = (L(f"本站自己的剖析显示,在 {cpu_name(p)['zh']}上训练小型 GPT 时 {pct(mm)} 的时间花在矩阵乘法上(受算力限制),"
                 f"受带宽限制的其余运算只占 {pct(1 - other)}",
                 f"the site's own profile of the small GPT on {cpu_name(p)['en']} put {pct(mm)} of the time in "
                 f"matrix multiply (compute-bound), and only {pct(1 - other)} in the bandwidth-bound rest")
               if mm is not None and other is not None else None)
    sheet = reference_sheet(g)
    lo, hi, ident = socket_range(c, "bandwidth")
    by = L("`bandwidth.json`:最佳内存带宽(`best_gb_per_s`),GPU ÷ CPU;瓶颈一半看 `gpt_train.json` 的剖析"
           "(`profile.matmul_share`)",
           "`bandwidth.json`: the best memory bandwidth (`best_gb_per_s`), GPU ÷ CPU; for the bottleneck "
           "half, the profile in `gpt_train.json` (`profile.matmul_share`)")
    base = dict(decided_by=by, figure=L("内存带宽", "memory bandwidth"), unit=U["gbs"],
                cpu=side(cpu, U["gbs"], c),
                reference=datasheet_ref(sheet, f"{fmt(sheet['gb_per_s'], 4)} GB/s", f"{fmt(sheet['gb_per_s'], 4)} GB/s")
                if sheet else None, files=[_file(c), _file(g), _file(p)], socket=socket_note(c, "bandwidth"))
    if gpu is None or not cpu:
        return verdict("c3-1", "undecided",
                       L(f"显存带宽要等 GPU 实测;CPU 一侧 {who['zh']}测得 {fmt(cpu)} GB/s"
                         + (f",而{profile['zh']}" if profile else "") + "。",
                         f"GPU memory bandwidth waits for a GPU run; on the CPU side {who['en']} reached "
                         f"{fmt(cpu)} GB/s" + (f", and {profile['en']}" if profile else "") + "."),
                       missing=missing_gpu("bandwidth"), **base)
    ratio = gpu / cpu
    base.update(gpu=side(gpu, U["gbs"], g), ratio=ratio)
    if ratio < RULES["much"]:
        return verdict("c3-1", "fails",
                       L(f"{gpu_name(g)} 的显存带宽只是 {who['zh']}的 {ratio:.2g} 倍,算不上高得多。",
                         f"{gpu_name(g)}'s memory bandwidth was only {ratio:.2g}× that of {who['en']}: not much higher."),
                       **base)
    sock = (L(f";对一整颗插槽(数据手册算术 {fmt(lo)}–{fmt(hi)} GB/s)则是 {gpu / hi:.2g}–{gpu / lo:.2g} 倍",
              f"; against a whole socket (datasheet arithmetic, {fmt(lo)}–{fmt(hi)} GB/s) {gpu / hi:.2g}–{gpu / lo:.2g}×")
            if lo and _slice(c) else L("", ""))
    if (profile and other is not None and 1 - other < RULES["mostly"]) or sock["en"]:
        return verdict("c3-1", "qualified",
                       L(f"{gpu_name(g)} 的显存带宽是 {who['zh']}的 {ratio:.0f} 倍{sock['zh']};"
                         + (f"但{profile['zh']},带宽并不是那里的主要瓶颈。" if profile else "。"),
                         f"{gpu_name(g)}'s memory bandwidth was {ratio:.0f}× that of {who['en']}{sock['en']}; "
                         + (f"but {profile['en']}: bandwidth was not the main bottleneck there." if profile else "")),
                       **base)
    return verdict("c3-1", "holds",
                   L(f"{gpu_name(g)} 的显存带宽是 {who['zh']}的 {ratio:.0f} 倍,而 CPU 上训练的大部分时间花在受带宽限制的运算上。",
                     f"{gpu_name(g)}'s memory bandwidth was {ratio:.0f}× that of {who['en']}, and most of the "
                     f"CPU's training time went to bandwidth-bound operations."), **base)


def c3_2(R):
    p = R.run("gpt_train", "cpu")
    peak, n = num(p, "memory.peak_bytes"), num(p, "params.total")
    times = peak / (4 * n) if peak and n else None
    memory = (times is not None and times >= RULES["a_lot"])
    mem_half = (L(f"{cpu_name(p)['zh']}上小型 GPT 一步的内存峰值是其 fp32 权重的 {times:.0f} 倍",
                  f"a step of the small GPT on {cpu_name(p)['en']} peaked at {times:.0f}× its fp32 weights")
                if times else L("没有测得内存峰值", "no peak memory was measured"))
    c, g = R.pair("cpu_control")
    cbw = num(c, "update.sizes.-1.offload.cpu_step.gb_per_s")
    gbw = num(g, "update.sizes.-1.on_device.gb_per_s")
    by = L("`gpt_train.json` 的内存峰值(`memory.peak_bytes` ÷ 4 × `params.total`);"
           "`cpu_control.json` 中受带宽限制的 AdamW 更新的吞吐(CPU 上 `update.sizes.-1.offload.cpu_step.gb_per_s`、"
           "GPU 上 `update.sizes.-1.on_device.gb_per_s`),GPU ÷ CPU",
           "the peak memory in `gpt_train.json` (`memory.peak_bytes` ÷ 4 × `params.total`); the rate of "
           "the bandwidth-bound AdamW update in `cpu_control.json` (`update.sizes.-1.offload.cpu_step.gb_per_s` "
           "on the CPU, `update.sizes.-1.on_device.gb_per_s` on the GPU), GPU ÷ CPU")
    sheet = reference_sheet(g)
    base = dict(decided_by=by, figure=L("AdamW 更新(受带宽限制)", "AdamW update (bandwidth-bound)"),
                unit=U["gbs"], cpu=side(cbw, U["gbs"], c),
                reference=datasheet_ref(sheet, f"显存带宽 {fmt(sheet['gb_per_s'], 4)} GB/s",
                                        f"memory bandwidth {fmt(sheet['gb_per_s'], 4)} GB/s") if sheet else None,
                files=[_file(p), _file(c), _file(g)], socket=socket_note(c, "bandwidth"))
    if not memory and times is not None:
        return verdict("c3-2", "fails", L(f"“占用大量内存”不成立:{mem_half['zh']}。",
                                          f"'A lot of memory' does not hold: {mem_half['en']}."),
                       missing=None if gbw else missing_gpu("cpu_control"), **base)
    if gbw is None or not cbw:
        return verdict("c3-2", "undecided",
                       L(f"“占用大量内存”成立({mem_half['zh']});“带宽高所以每步快”要等 GPU 上的更新实测。",
                         f"'A lot of memory' holds ({mem_half['en']}); 'high bandwidth, faster steps' waits "
                         f"for the update to be measured on a GPU."),
                       missing=missing_gpu("cpu_control"), **base)
    ratio = gbw / cbw
    base.update(gpu=side(gbw, U["gbs"], g), ratio=ratio)
    if ratio < RULES["much"]:
        return verdict("c3-2", "fails",
                       L(f"{mem_half['zh']};但 {gpu_name(g)} 上受带宽限制的 AdamW 更新只比 CPU 快 {ratio:.2g} 倍。",
                         f"{mem_half['en']}; but the bandwidth-bound AdamW update on {gpu_name(g)} ran only "
                         f"{ratio:.2g}× as fast as on the CPU."), **base)
    return verdict("c3-2", "qualified",
                   L(f"{mem_half['zh']};受带宽限制的 AdamW 更新在 {gpu_name(g)} 上快 {ratio:.0f} 倍,"
                     "但带宽只加快这类运算,不加快受算力限制的矩阵乘法。",
                     f"{mem_half['en']}; the bandwidth-bound AdamW update ran {ratio:.0f}× as fast on "
                     f"{gpu_name(g)}, but bandwidth speeds up only such operations, not compute-bound matrix products."),
                   **base)


def c4_1(R):
    c, g = R.pair("framework")
    use_cuda = at(c, "libraries.build_settings.USE_CUDA")
    cpu_only = use_cuda in ("0", "OFF")
    by = L("`framework.json`:GPU 上 PyTorch 检测到的 CUDA 与 cuDNN(`libraries.cuda_available`、`libraries.cudnn_version`)",
           "`framework.json`: CUDA and cuDNN as PyTorch detects them on the GPU (`libraries.cuda_available`, "
           "`libraries.cudnn_version`)")
    base = dict(decided_by=by, figure=L("PyTorch 里的 GPU 库", "GPU libraries in PyTorch"),
                cpu=side(None, U["err"], c, text=L(f"`USE_CUDA={use_cuda}`", f"`USE_CUDA={use_cuda}`")) if c else None,
                files=[_file(c), _file(g)])
    if g is None:
        return verdict("c4-1", "undecided",
                       L("GPU 库是否随框架可用,要在 GPU 上实测;" + ("已测的 CPU 机器装的是纯 CPU 版 PyTorch,里面没有任何 GPU 库。"
                                                                 if cpu_only else "已测的只有 CPU 一侧。"),
                         "Whether the framework's GPU libraries work needs a GPU run; "
                         + ("the CPU machine measured runs a CPU-only PyTorch build with no GPU library in it."
                            if cpu_only else "only the CPU side is measured.")),
                       missing=missing_gpu("framework"), **base)
    cuda, cudnn = at(g, "libraries.cuda_available"), at(g, "libraries.cudnn_version")
    base.update(gpu=side(None, U["err"], g, text=L(f"CUDA {at(g, 'libraries.cuda_version') or '?'},cuDNN {cudnn or '–'}",
                                                    f"CUDA {at(g, 'libraries.cuda_version') or '?'}, cuDNN {cudnn or '–'}")))
    if cuda and cudnn:
        return verdict("c4-1", "qualified",
                       L(f"在 {gpu_name(g)} 上,同一份 PyTorch 代码用上了 CUDA 与 cuDNN {cudnn};"
                         "但这些库只在 CUDA 版的 PyTorch 包里,而且这里只测了 PyTorch。",
                         f"On {gpu_name(g)} the same PyTorch code used CUDA and cuDNN {cudnn}; but these come only "
                         "in PyTorch's CUDA package, and only PyTorch was tested."), **base)
    return verdict("c4-1", "fails", L(f"在 {gpu_name(g)} 上,PyTorch 没有检测到可用的 CUDA 或 cuDNN。",
                                      f"On {gpu_name(g)} PyTorch found no working CUDA or cuDNN."), **base)


def _compile(run):
    """(speedup of compiled fp32 over eager fp32, steps to pay back the compile or None if never)."""
    sp, comp = num(run, "modes.compile_fp32.speedup_vs_eager_fp32"), num(run, "modes.compile_fp32.compile_s")
    e, cm = num(run, "modes.eager_fp32.median_s"), num(run, "modes.compile_fp32.median_s")
    if sp is None or comp is None or e is None or cm is None:
        return None, None
    return sp, (comp / (e - cm) if e > cm else None)


def c4_2(R):
    c, g = R.pair("framework")
    dev = g or c
    sp, steps = _compile(dev)
    where = gpu_name(g) if g else cpu_name(c)["zh"]
    where_en = gpu_name(g) if g else cpu_name(c)["en"]
    comp = (L(f"在 {where} 上 torch.compile 的 fp32 步是 eager 的 {sp:.2f} 倍速度,"
              + (f"约 {steps:,.0f} 步后编译时间回本" if steps else "编译后的一步更慢,永远不会回本"),
              f"on {where_en} a torch.compile fp32 step ran at {sp:.2f}× eager speed, "
              + (f"paying back its compile time after about {steps:,.0f} steps" if steps else
                 "slower than eager, so the compile never pays off"))
            if sp is not None else L("这组结果里没有 torch.compile 的测量", "no torch.compile run in these results"))
    by = L("`framework.json`:GPU 上 eager fp32 一步是否跑通(`modes.eager_fp32.status`);多个 torch 版本在同一种 GPU 上的"
           "速度(`modes.*.tflops_median`,至少两个版本)",
           "`framework.json`: whether an eager fp32 step ran on the GPU (`modes.eager_fp32.status`); "
           "the speed of several torch versions on one kind of GPU (`modes.*.tflops_median`, two "
           "versions at least)")
    base = dict(decided_by=by, figure=L("torch.compile fp32 相对 eager", "torch.compile fp32 against eager"),
                unit=U["x"], cpu=side(_compile(c)[0], U["x"], c, 3), files=[_file(c), _file(g)])
    if g is None:
        return verdict("c4-2", "undecided",
                       L(f"“容易搬到 GPU 上”要在 GPU 上实测,“越来越快”要比较多个版本;已测的:{comp['zh']}。",
                         f"'Easy to move to a GPU' needs a GPU run and 'ever faster' several versions; measured: "
                         f"{comp['en']}."),
                       missing=missing_gpu("framework"), **base)
    base.update(gpu=side(_compile(g)[0], U["x"], g, 3))
    easy = at(g, "modes.eager_fp32.status") == "ok"
    versions = {}
    for r in R.runs.get("framework", []):
        if R.usable(r, "cuda") and r["label"] == g["label"]:
            v = num(r, "modes.eager_fp32.tflops_median")
            if v:
                versions[at(r, "libraries.torch_version") or "?"] = v
    if not easy:
        return verdict("c4-2", "fails", L(f"同一份代码在 {gpu_name(g)} 上没有跑通 eager fp32 一步。",
                                          f"The same code did not run an eager fp32 step on {gpu_name(g)}."), **base)
    if len(versions) < 2:
        return verdict("c4-2", "undecided",
                       L(f"“容易搬”成立:同一份代码只改设备字符串就在 {gpu_name(g)} 上跑通;“越来越快”只测了一个 torch 版本,"
                         f"无从判断;{comp['zh']}。",
                         f"'Easy to move' holds: the same code ran on {gpu_name(g)} with only the device "
                         f"string changed; 'ever faster' has one torch version measured, so it cannot be "
                         f"judged; {comp['en']}."),
                       missing=L(f"同一种 GPU 上另一个 torch 版本的 `framework` 结果",
                                 "a `framework` run of another torch version on the same kind of GPU"), **base)
    order = sorted(versions, key=lambda v: [int(x) if x.isdigit() else 0 for x in v.split("+")[0].split(".")])
    old, new = versions[order[0]], versions[order[-1]]
    if new > old:
        return verdict("c4-2", "qualified",
                       L(f"同一份代码跑通了,torch {order[-1]} 比 {order[0]} 快 {new / old:.2f} 倍;{comp['zh']}。",
                         f"The same code ran, and torch {order[-1]} was {new / old:.2f}× as fast as {order[0]}; {comp['en']}."),
                       **base)
    return verdict("c4-2", "fails", L(f"torch {order[-1]} 并不比 {order[0]} 快。",
                                      f"torch {order[-1]} was not faster than {order[0]}."), **base)


def c5_1(R):
    c, g = R.pair("cpu_control")
    who = cpu_name(c)
    n, t = num(c, "update.sizes.-1.params"), num(c, "update.sizes.-1.offload.cpu_step.median_s")
    vs = num(g, "update.sizes.-1.offload.total.vs_on_device")
    on = num(g, "update.sizes.-1.on_device.median_s")
    by = L("`cpu_control.json`:AdamW 更新卸载到 CPU 的端到端时间相对在 GPU 上更新(`update.sizes.-1.offload.total.vs_on_device`)",
           "`cpu_control.json`: the AdamW update offloaded to the CPU, end to end, against on the GPU "
           "(`update.sizes.-1.offload.total.vs_on_device`)")
    base = dict(decided_by=by, figure=L("AdamW 更新一步", "one AdamW update"), unit=U["ms"],
                cpu=side(t * 1000 if t else None, U["ms"], c), files=[_file(c), _file(g)])
    cpu_part = (L(f"{who['zh']}更新 {n:,.0f} 个参数要 {t * 1000:.0f} 毫秒", f"{who['en']} needed {t * 1000:.0f} ms to update "
                  f"{n:,.0f} parameters") if n and t else L("CPU 一侧没有更新的计时", "no CPU update was timed"))
    if on is None:
        return verdict("c5-1", "undecided",
                       L(f"常规 GPU 训练里参数由谁更新、卸载要付出多少,要等 GPU 实测;已测的只有 CPU:{cpu_part['zh']}。",
                         f"Who updates the parameters in GPU training, and what offloading costs, waits for a "
                         f"GPU run; only the CPU is measured: {cpu_part['en']}."),
                       missing=missing_gpu("cpu_control"), **base)
    base.update(gpu=side(on * 1000, U["ms"], g), ratio=vs)
    if vs is None:
        return verdict("c5-1", "qualified",
                       L(f"在 {gpu_name(g)} 上参数更新是 GPU 内核({on * 1000:.2f} 毫秒),CPU 只负责发起;卸载的端到端计时没有完成。",
                         f"On {gpu_name(g)} the update is a GPU kernel ({on * 1000:.2f} ms) that the CPU only "
                         f"launches; the offloaded update was not timed end to end."), **base)
    if vs > 1:
        return verdict("c5-1", "qualified",
                       L(f"CPU 指挥每一步,但常规训练里参数更新在 {gpu_name(g)} 上做;卸载给 CPU 时端到端是 {vs:.0f} 倍的时间。",
                         f"The CPU drives every step, but in plain training the update runs on {gpu_name(g)}; "
                         f"offloaded to the CPU it took {vs:.0f}× as long end to end."), **base)
    return verdict("c5-1", "holds",
                   L(f"卸载给 CPU 的参数更新端到端只用了在 {gpu_name(g)} 上更新的 {vs:.2g} 倍时间,CPU 完全能承担这份工作。",
                     f"Offloaded to the CPU, the update took {vs:.2g}× the time it took on {gpu_name(g)}: the "
                     f"CPU can carry this work."), **base)


def c5_2(R):
    c, g = R.pair("dataloader")
    who = cpu_name(c)
    loader, model = num(c, "loader.0.samples_per_s"), num(c, "model.samples_per_s")
    idle = num(g, "summary.best_end_to_end.device_idle_share_estimate")
    gmodel = num(g, "model.samples_per_s")
    by = L("`dataloader.json`:端到端最快的配置下 GPU 等数据的时间占比(`summary.best_end_to_end.device_idle_share_estimate`)",
           "`dataloader.json`: the share of time the GPU waits for data in the fastest end-to-end "
           "setting (`summary.best_end_to_end.device_idle_share_estimate`)")
    base = dict(decided_by=by, figure=L("数据加载(单进程)对模型消耗", "data loading (one process) against the model"),
                unit=U["samples"], cpu=side(loader, U["samples"], c), files=[_file(c), _file(g)])
    cpu_part = (L(f"{who['zh']}单个进程每秒准备 {fmt(loader)} 个样本,是它自己训练模型速度的 {loader / model:.0f} 倍",
                  f"one process on {who['en']} prepared {fmt(loader)} samples/s, {loader / model:.0f}× what the "
                  f"same CPU's model consumed") if loader and model else L("CPU 一侧没有加载速度", "no loading rate on the CPU"))
    if idle is None or gmodel is None:
        return verdict("c5-2", "undecided",
                       L(f"CPU 能不能让 GPU 按时拿到数据,要在 GPU 上实测;已测的:{cpu_part['zh']}。",
                         f"Whether the CPU keeps a GPU fed needs a GPU run; measured: {cpu_part['en']}."),
                       missing=missing_gpu("dataloader"), **base)
    w = num(g, "summary.best_end_to_end.num_workers")
    base.update(gpu=side(gmodel, U["samples"], g), ratio=gmodel / loader if loader else None)
    if idle <= RULES["fed"]:
        return verdict("c5-2", "qualified",
                       L(f"在最好的配置({w:.0f} 个工作进程)下 {gpu_name(g)} 只有 {pct(idle)} 的时间在等数据;"
                         "但这是比真实解码便宜得多的合成数据。",
                         f"In the best setting ({w:.0f} workers) {gpu_name(g)} waited for data {pct(idle)} of the "
                         "time; but the data are synthetic, far cheaper than real decoding."), **base)
    return verdict("c5-2", "fails",
                   L(f"即使在最好的配置下,{gpu_name(g)} 也有 {pct(idle)} 的时间在等 CPU 准备数据:CPU 没能让它按时拿到输入。",
                     f"Even in the best setting {gpu_name(g)} waited for the CPU's data {pct(idle)} of the time: "
                     f"the CPU did not get it its input on time."), **base)


def x1(R):
    c = R.run("allreduce", "cpu")
    g = R.gpu("allreduce")
    nccl = g is not None and (num(g, "device.gpus") or 0) >= 2 and num(g, "groups.0.peak.busbw_gb_per_s")
    cbw = num(c, "groups.0.peak.busbw_gb_per_s")
    seq = RULES["sequence"]
    from lib.datasheets import by_name
    sheet = reference_sheet(g) or by_name(REFERENCE_GPU)
    nv = sheet.get("nvlink_gb_per_s")
    by = L("`allreduce.json`:NCCL 在多块 GPU 间的 busbw 峰值(`groups.0.peak.busbw_gb_per_s`)与同一台机器的 bf16 算力上限,"
           f"算出通信与计算相等时每块 GPU 每步的 token 数 T*,与一条 {seq} token 的序列比较",
           "`allreduce.json`: NCCL's peak busbw across GPUs (`groups.0.peak.busbw_gb_per_s`) with the same "
           f"machine's bf16 compute ceiling, giving T*, the tokens per GPU and step at which communication "
           f"equals compute, set against one {seq}-token sequence")
    base = dict(decided_by=by, figure=L("all-reduce busbw 峰值", "all-reduce peak busbw"), unit=U["gbs"],
                cpu=side(cbw, U["gbs"], c, text=L(f"{fmt(cbw)} GB/s(Gloo)", f"{fmt(cbw)} GB/s (Gloo)")) if cbw else None,
                reference=datasheet_ref(sheet, f"NVLink 每个方向 {fmt(nv / 2)} GB/s(双向合计 {fmt(nv)})",
                                        f"NVLink {fmt(nv / 2)} GB/s per direction ({fmt(nv)} both together)")
                if nv else None, files=[_file(c), _file(g)])
    if not nccl:
        return verdict("x1", "undecided",
                       L(f"GPU 之间的通信(NCCL)还没有实测,需要至少 2 块 GPU 的机器;已测的只有 CPU 上的 Gloo(busbw 峰值 {fmt(cbw)} GB/s)。",
                         f"Communication between GPUs (NCCL) is not measured yet and needs a machine with 2 "
                         f"GPUs at least; only Gloo on CPUs is (peak busbw {fmt(cbw)} GB/s)."),
                       missing=L("至少 2 块 GPU 上的 `allreduce` 结果", "an `allreduce` run on 2 GPUs or more"), **base)
    bw = num(g, "groups.0.peak.busbw_gb_per_s")
    n = num(g, "device.gpus")
    cg = R.ceilings(R.run("matmul", "cuda", g["machine"]) or g)
    F = ((cg.get("compute") or {}).get("bf16") or (cg.get("compute") or {}).get("fp32") or {}).get("value")
    base.update(gpu=side(bw, U["gbs"], g, text=L(f"{fmt(bw)} GB/s(NCCL,{n:.0f} 块)", f"{fmt(bw)} GB/s (NCCL, {n:.0f} GPUs)")),
                ratio=bw / cbw if cbw else None)
    if not F:
        return verdict("x1", "undecided", L("GPU 的算力上限没有测得,无法比较通信与计算。",
                                            "The GPU's compute ceiling is not measured, so communication cannot be set against compute."),
                       missing=missing_gpu("matmul"), **base)
    tstar = 4 * F * 1e9 * (n - 1) / (3 * n * bw * 1e9)
    if tstar >= seq:
        return verdict("x1", "qualified",
                       L(f"在 {gpu_name(g)} 上,每块 GPU 每步要处理超过约 {fmt(tstar)} 个 token,计算时间才超过梯度 all-reduce 的时间:"
                         f"不到一条 {seq} token 序列时,通信和算力一样重要;能否与计算重叠另当别论。",
                         f"On {gpu_name(g)} each GPU must process more than about {fmt(tstar)} tokens a step before "
                         f"compute outlasts the gradient all-reduce: below one {seq}-token sequence communication "
                         f"matters as much as FLOPS, before any overlap with compute."), **base)
    return verdict("x1", "fails",
                   L(f"在 {gpu_name(g)} 上,每块 GPU 每步只要处理约 {fmt(tstar)} 个 token,计算时间就超过梯度 all-reduce,"
                     f"不到一条 {seq} token 的序列:通信在这里不是与算力同等的约束。",
                     f"On {gpu_name(g)} about {fmt(tstar)} tokens per GPU and step, less than one {seq}-token "
                     f"sequence, already make compute outlast the gradient all-reduce: communication is not as "
                     f"binding as FLOPS here."), **base)


def _roofline_check(run):
    """(kernels near their roof, kernels counted, kernels above it, ridge) of a roofline run,
    against its device's ceilings (lib/ceilings.py)."""
    ceil = (run or {}).get("ceilings") or {}
    B = (ceil.get("bandwidth") or {}).get("value")
    P = ((ceil.get("compute") or {}).get("fp32") or {}).get("value")
    if not B or not P:
        return None
    near = total = above = 0
    for k in at(run, "kernels") or []:
        if k.get("status", "ok") != "ok" or k.get("dtype") != "fp32":
            continue
        i, gf, gb = k.get("intensity_flop_per_byte"), k.get("gflop_per_s_median"), k.get("gb_per_s_median")
        if i is None:
            continue
        if i == 0:
            frac = gb / B if gb else None
        else:
            frac = gf / min(P, i * B) if gf else None
        if frac is None:
            continue
        total += 1
        near += frac >= RULES["roof"]
        above += frac > RULES["over_roof"]
    return near, total, above, P / B


def x2(R):
    c, g = R.pair("roofline")
    checks = [(r, _roofline_check(r)) for r in (c, g) if r is not None]
    checks = [(r, ch) for r, ch in checks if ch and ch[1]]
    sheet = reference_sheet(g)
    by = L("`roofline.json`:每个 fp32 内核达到的速率相对它的屋顶 min(P, I × B)(P、B 为该设备的两条实测上限)",
           "`roofline.json`: each fp32 kernel's rate against its roof min(P, I × B) (P and B the device's two "
           "measured ceilings)")
    ridge_c = next((ch[3] for r, ch in checks if r is c), None)
    ridge_g = next((ch[3] for r, ch in checks if r is g), None)
    base = dict(decided_by=by, figure=L("fp32 脊点", "fp32 ridge point"), unit=U["flopb"],
                cpu=side(ridge_c, U["flopb"], c), gpu=side(ridge_g, U["flopb"], g) if g else None,
                ratio=ridge_g / ridge_c if ridge_c and ridge_g else None,
                reference=datasheet_ref(sheet, f"bf16 稠密峰值 ÷ 显存带宽 = {fmt(sheet['tflops']['bf16'] * 1000 / sheet['gb_per_s'])} FLOP/字节",
                                        f"dense bf16 peak ÷ memory bandwidth = {fmt(sheet['tflops']['bf16'] * 1000 / sheet['gb_per_s'])} FLOP/byte")
                if sheet else None, files=[_file(c), _file(g)])
    if not checks:
        return verdict("x2", "undecided", L("还没有任何设备测过屋顶线内核。", "No device has run the roofline kernels yet."),
                       missing=L("`roofline` 的结果", "a run of `roofline`"), **base)
    names = L("、".join(cpu_name(r)["zh"] if r["device"] == "cpu" else gpu_name(r) for r, _ in checks),
              " and ".join(cpu_name(r)["en"] if r["device"] == "cpu" else gpu_name(r) for r, _ in checks))
    near = sum(ch[0] for _, ch in checks)
    total = sum(ch[1] for _, ch in checks)
    above = sum(ch[2] for _, ch in checks)
    gpu_note = L("" if g else ";GPU 还没有测", "" if g else "; no GPU is measured yet")
    if above:
        return verdict("x2", "fails",
                       L(f"在 {names['zh']}上有 {above} 个内核超过了屋顶,两条上限不是它们的上界。",
                         f"On {names['en']} {above} kernels ran above their roof: the two ceilings do not bound them."),
                       **base)
    if near * 2 >= total:
        return verdict("x2", "qualified",
                       L(f"在 {names['zh']}上,{total} 个内核都没有越过屋顶,其中 {near} 个达到屋顶的一半以上;"
                         f"规模小的内核远低于屋顶{gpu_note['zh']}。",
                         f"On {names['en']} none of {total} kernels ran above its roof and {near} reached at "
                         f"least half of it; small kernels stay far below{gpu_note['en']}."), **base)
    return verdict("x2", "fails",
                   L(f"在 {names['zh']}上,{total} 个内核中只有 {near} 个达到屋顶的一半:屋顶对它们的预测力不强。",
                     f"On {names['en']} only {near} of {total} kernels reached half their roof: the roofline "
                     f"predicts them poorly."), **base)


def c0(R):
    c, g, cpu, gpu = _cnn(R)
    who = cpu_name(c)
    by = L("`cnn_train.json`:同一个模型、同为 fp32 的训练吞吐,GPU ÷ CPU(与 C1.2 相同的数字);CPU 的角色见 C5.1、C5.2",
           "`cnn_train.json`: the same model's fp32 training throughput, GPU ÷ CPU (the figure of C1.2); the "
           "CPU's part under C5.1 and C5.2")
    base = dict(decided_by=by, figure=L("同一模型的训练吞吐,fp32", "training throughput of one model, fp32"),
                unit=U["img"], cpu=side(cpu, U["img"], c), files=[_file(c), _file(g)])
    if gpu is None or not cpu:
        return verdict("c0", "undecided",
                       L("本站还没有测过任何 GPU,“GPU 比 CPU 更重要”无从用实测判断;各条论断的 CPU 一侧见上表。",
                         "This site has measured no GPU yet, so 'the GPU matters more' cannot be judged from "
                         "measurements; the CPU side of each claim is in the table above."),
                       missing=missing_gpu("cnn_train"), **base)
    ratio = gpu / cpu
    base.update(gpu=side(gpu, U["img"], g), ratio=ratio)
    if ratio < RULES["much"]:
        return verdict("c0", "fails",
                       L(f"训练同一个模型,{gpu_name(g)} 只有 {who['zh']}的 {ratio:.2g} 倍,看不出 GPU 更重要。",
                         f"Training the same model, {gpu_name(g)} was only {ratio:.2g}× as fast as {who['en']}: "
                         f"no sign that the GPU matters more."), **base)
    return verdict("c0", "qualified",
                   L(f"训练同一个模型,{gpu_name(g)} 是 {who['zh']}的 {ratio:.0f} 倍;但 CPU 仍在发起每一步、准备数据(C5.1、C5.2),"
                     "而且差距随规模变化。",
                     f"Training the same model, {gpu_name(g)} was {ratio:.0f}× as fast as {who['en']}; but the "
                     f"CPU still launches every step and prepares the data (C5.1, C5.2), and the gap depends on scale."),
                   **base)


RULE_OF = {"c0": c0, "c1-1": c1_1, "c1-2": c1_2, "c2-1": c2_1, "c2-2": c2_2, "c2-3": c2_3,
           "c3-1": c3_1, "c3-2": c3_2, "c4-1": c4_1, "c4-2": c4_2, "c5-1": c5_1, "c5-2": c5_2,
           "x1": x1, "x2": x2}


def compute(runs, featured=None):
    """Every claim's verdict, {claim id: verdict}, in the order of CLAIMS."""
    R = Results(runs, featured)
    return {cid: RULE_OF[cid](R) for cid, _, _ in CLAIMS}
