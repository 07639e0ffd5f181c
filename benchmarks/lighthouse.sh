#!/usr/bin/env bash
# Lighthouse scores of the built site, in Debian's Chromium (CHROME_PATH), with Lighthouse's
# default test: a mid-range phone on a slow 4G link (simulated throttling). The site is served
# by Python's http.server from this machine (benchmarks/serve.py): uncompressed, as
# `python -m http.server` serves it, or with GZIP=1 compressed, as static hosts serve it.
#   bash benchmarks/lighthouse.sh                     # site/, pages / /flops/ /training/
#   bash benchmarks/lighthouse.sh site / /en/ /roofline/
#   GZIP=1 bash benchmarks/lighthouse.sh
# Reports land in benchmarks/lighthouse/ (ignored by git); the scores are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-site}
shift || true
pages=("$@")
[ ${#pages[@]} -gt 0 ] || pages=(/ /flops/ /training/)
[ -f "$site/index.html" ] || { echo "lighthouse.sh: build the site first (mkdocs build)" >&2; exit 1; }
port=${LIGHTHOUSE_PORT:-8765}
out=benchmarks/lighthouse
mkdir -p "$out"
python3 benchmarks/serve.py "$site" "$port" ${GZIP:+--gzip} >/dev/null 2>&1 &
server=$!
trap 'kill $server 2>/dev/null' EXIT
sleep 1
export CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
runs=${RUNS:-3}   # Lighthouse varies from run to run (more so on a busy machine): the median
for page in "${pages[@]}"; do
  name=$(echo "$page" | tr -c 'a-zA-Z0-9\n' '-' | sed 's/^-*//; s/-*$//')
  name=${name:-home}
  for run in $(seq "$runs"); do
    npx --yes lighthouse@12.8.2 "http://127.0.0.1:$port$page" --quiet \
      --chrome-flags="--headless=new --no-sandbox --disable-gpu --no-first-run --disable-background-networking" \
      --only-categories=performance,accessibility,best-practices,seo \
      --output=json --output=html --output-path="$out/$name-$run" >/dev/null 2>&1
  done
  python3 - "$page" "$out/$name" "$runs" <<'PY'
import json, statistics, sys
page, stem, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
reports = [json.load(open(f"{stem}-{i}.report.json")) for i in range(1, runs + 1)]
reports.sort(key=lambda r: r["categories"]["performance"]["score"])
r = reports[len(reports) // 2]  # the median run, by performance
perf = [round(x["categories"]["performance"]["score"] * 100) for x in reports]
scores = " ".join(f"{k}={round(v['score'] * 100)}" for k, v in r["categories"].items())
a = r["audits"]
print(f"{page:12s} {scores} (performance of {runs} runs: {perf})  FCP={a['first-contentful-paint']['displayValue']} "
      f"LCP={a['largest-contentful-paint']['displayValue']} TBT={a['total-blocking-time']['displayValue']} "
      f"CLS={a['cumulative-layout-shift']['displayValue']} {a['total-byte-weight']['displayValue']}")
PY
done
