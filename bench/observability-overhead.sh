#!/usr/bin/env bash
# Metrics and tracing overhead on REST query throughput (issue 11): two servers side by side, same data
# (10,000 random 128-d Cosine points, below the indexing threshold: exact search), queried by wrk with one
# POST /collections/b/points/query (limit 10) at 8 connections, rounds interleaved (first half "on" first).
#   on:  metrics.enabled true and every request traced to a local OTLP receiver (http/protobuf, sample_ratio 1)
#   off: metrics.enabled false, no OTLP endpoint
# Prints requests/s per round, the per-round ratios on/off and their median (judge by the median: the machine is
# noisy). Usage: bench/observability-overhead.sh [VECTORIZER_BINARY] [ROUNDS] [SECONDS]
# The binary defaults to the single-file build of scripts/package.sh (dist/*.tar.gz is unpacked to a temp folder).
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
bin="${1:-}"
rounds="${2:-6}"
seconds="${3:-10}"
if [ -z "$bin" ]; then
  tarball="$(ls dist/vectorizer-*-linux-x64.tar.gz 2>/dev/null | head -1)"
  [ -n "$tarball" ] || { echo "no dist/vectorizer-*-linux-x64.tar.gz: run scripts/package.sh first, or pass a binary" >&2; exit 1; }
  tar -C "$work" -xzf "$tarball"
  bin="$(ls "$work"/vectorizer-*/vectorizer)"
fi
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A local OTLP/HTTP receiver that accepts every export (the exporter's work is what is measured, not a collector's).
otlp_port="$(free_port)"
python3 - "$otlp_port" >/dev/null 2>&1 <<'PY' &
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(200); self.send_header("Content-Type", "application/x-protobuf"); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
pids+=($!)

start() { # name, metrics, otlp endpoint
  local port dir
  port="$(free_port)"; dir="$work/$1"; mkdir -p "$dir/data"
  cat > "$dir/config.yml" <<YAML
server:
  host: "127.0.0.1"
  port: $port
  data_dir: "$dir/data"
logging:
  level: "warn"
metrics:
  enabled: $2
telemetry:
  otlp_endpoint: "$3"
  otlp_protocol: "http/protobuf"
  sample_ratio: 1.0
YAML
  "$bin" serve --config "$dir/config.yml" >"$dir/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
  curl -fs -X PUT "http://127.0.0.1:$port/collections/b" -H 'Content-Type: application/json' \
    -d '{"vectors": {"size": 128, "distance": "Cosine"}}' >/dev/null
  python3 - "$port" <<'PY'
import json, random, sys, urllib.request
random.seed(7)
for start in range(0, 10000, 1000):
    points = [{"id": i, "vector": [random.uniform(-1, 1) for _ in range(128)]} for i in range(start, start + 1000)]
    request = urllib.request.Request(f"http://127.0.0.1:{sys.argv[1]}/collections/b/points?wait=true", method="PUT",
        data=json.dumps({"points": points}).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()
PY
  echo "$port"
}
on_port="$(start on true "http://127.0.0.1:$otlp_port")"
off_port="$(start off false "")"

python3 - > "$work/query.lua" <<'PY'
import json, random
random.seed(11)
body = json.dumps({"query": [round(random.uniform(-1, 1), 4) for _ in range(128)], "limit": 10})
print('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = ' + json.dumps(body))
PY
run() { wrk -t2 -c8 -d"${seconds}s" -s "$work/query.lua" "http://127.0.0.1:$1/collections/b/points/query" | awk '/Requests\/sec/ {print $2}'; }

echo "| round | on | off | on / off |"
echo "|---|---|---|---|"
ratios=()
for round in $(seq 1 "$rounds"); do
  if [ "$round" -le $(( (rounds + 1) / 2 )) ]; then on="$(run "$on_port")"; off="$(run "$off_port")"
  else off="$(run "$off_port")"; on="$(run "$on_port")"; fi
  ratio="$(python3 -c "print(f'{$on / $off:.3f}')")"
  ratios+=("$ratio")
  echo "| $round | $on | $off | $ratio |"
done
python3 -c "import statistics, sys; print(f'median on/off: {statistics.median(map(float, sys.argv[1:])):.2f}')" "${ratios[@]}"
echo
echo "/metrics of the 'on' server after the load (excerpt):"
curl -fs "http://127.0.0.1:$on_port/metrics" | grep -E '^(vectorizer_http_requests_total|vectorizer_http_request_duration_seconds_count|vectorizer_collection_(points|wal_bytes|ram_bytes|disk_bytes|operations_since_checkpoint)|vectorizer_ready|app_info|collections_total|dotnet_process_memory_working_set_bytes)' | head -20
