#!/usr/bin/env bash
# Measure a GPU box you have for a few minutes: its GPU first, then its own CPU if time is left.
#
#   bash scripts/gpu-measure.sh OUTDIR [SECONDS]      # SECONDS: the whole budget, default 540
#
# Needs bash and a python3 with torch (CUDA build); nothing is installed. Set PYTHON to use
# another interpreter, FORCE=1 to measure again what the results already hold for this
# machine (build_results.py --force; the GPU-runner workflow's `force`). Writes, in OUTDIR:
#   machine.txt   the box: nvidia-smi (name, driver, clocks, power limit, PCIe link), CPU,
#                 memory, /dev/shm
#   measure.log   everything measure printed, then a summary (what ran, how long it took)
#   results.tgz   docs/results/, packed again after each group, so a run killed at its limit
#                 still leaves everything that finished
# The snippets run in build_results.py's priority order (headline figures first, framework
# last), in groups, each with the time left as its --deadline. Copy results.tgz back, unpack
# it in the repository (tar xzf results.tgz -C docs), check, render and build the site there.
set -uo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bash scripts/gpu-measure.sh OUTDIR [SECONDS]" >&2
  exit 2
fi
out=$1
budget=${2:-540}
case $budget in
  ''|*[!0-9]*) echo "gpu-measure.sh: SECONDS must be a whole number of seconds, got '$budget'" >&2; exit 2 ;;
esac
py=${PYTHON:-python3}
force=; [ "${FORCE:-}" = 1 ] && force=--force
mkdir -p "$out" || { echo "gpu-measure.sh: cannot create $out" >&2; exit 2; }
: > "$out/measure.log" || { echo "gpu-measure.sh: cannot write in $out" >&2; exit 2; }
log=$out/measure.log
start=$(date +%s)
end=$((start + budget))
say() { echo "gpu-measure.sh: $*" | tee -a "$log"; }

# ---------------------------------------------------------------- the machine
{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "## nvidia-smi"
  nvidia-smi --query-gpu=index,name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,clocks.sm,power.limit,power.max_limit,pcie.link.gen.max,pcie.link.gen.current,pcie.link.width.max,pcie.link.width.current --format=csv 2>&1
  nvidia-smi topo -m 2>&1 | head -20
  echo "## cpu"; lscpu 2>&1 | head -30
  echo "## memory"; free -g 2>&1
  echo "## /dev/shm"; df -h /dev/shm 2>&1
  echo "## python"; "$py" -c 'import sys, torch; print(sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "gpus", torch.cuda.device_count())' 2>&1
} > "$out/machine.txt"
say "machine recorded in $out/machine.txt; budget ${budget} s${force:+; FORCE=1: cached results measured again}"

if ! "$py" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>>"$log"; then
  say "no CUDA GPU is visible to torch; measuring the CPU only"
  gpu=0
else
  gpu=1
fi

pack() {
  tar czf "$out/results.tgz.part" -C docs results 2>>"$log" && mv "$out/results.tgz.part" "$out/results.tgz"
}

failed=0
run_group() {  # run_group DEVICE NAME...  (names without a snippets/NAME.py are left out)
  local device=$1; shift
  local names=() n
  for n in "$@"; do [ -f "snippets/$n.py" ] && names+=("$n"); done
  [ ${#names[@]} -gt 0 ] || return 0
  set -- "${names[@]}"
  local left=$((end - $(date +%s)))
  if [ "$left" -lt 10 ]; then
    say "not run (time is up): $* on $device"
    failed=1
    return
  fi
  say "group on $device: $* (deadline ${left} s)"
  "$py" build_results.py measure --device "$device" --only "$@" --deadline "$left" $force 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || failed=1
  pack
}

# ---------------------------------------------------------------- the GPU, then its host CPU
if [ $gpu = 1 ]; then
  run_group cuda matmul bandwidth
  run_group cuda roofline gpt_train cnn_train
  run_group cuda parallel cpu_control dataloader train_memory allreduce
  run_group cuda framework
fi
run_group cpu matmul bandwidth roofline gpt_train cnn_train parallel cpu_control dataloader train_memory allreduce framework

# ---------------------------------------------------------------- summary
{
  echo "## summary: $(( $(date +%s) - start )) s of ${budget}"
  "$py" - <<'PY'
import json, pathlib
for path in sorted(pathlib.Path("docs/results").glob("*/*.json")):
    try:
        data = json.loads(path.read_text())
    except ValueError:
        continue
    for device, run in sorted(data.get("runs", {}).items()):
        print(f"{path.parent.name}/{path.stem} {device}: {run.get('duration_s')} s, "
              f"measured {run.get('measured_at')}, quick={run.get('quick')}")
    for device, f in sorted(data.get("failures", {}).items()):
        print(f"{path.parent.name}/{path.stem} {device}: FAILED {f.get('cause')}")
PY
} >> "$log" 2>&1
pack
say "done: results in $out/results.tgz, log in $log (exit $failed)"
exit $failed
