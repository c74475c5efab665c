#!/usr/bin/env bash
# Issue 17: what a per-animal tag on the milking point costs InfluxDB 1.6 (Debian's influxd, default inmem index).
# Two fresh influxd instances in turn (ports from ANIMAL_BENCH_INFLUX_PORT, default 19401, and +1 for RPC), the same
# milking points written to each: without an animal tag (the platform's tags: boot, county, pasture, herd, device) and
# with one. Prints series cardinality, Go heap in use and RSS after the write and after a restart (the index rebuilt).
# Usage: bench/animal-milk/influx-cardinality.sh [animals] [milkings-per-animal]
set -euo pipefail
animals=${1:-100000}
per=${2:-2}
port=${ANIMAL_BENCH_INFLUX_PORT:-19401}
rpc=$((port + 1))
work=$(mktemp -d /tmp/animal-influx.XXXXXX)
trap 'kill "${pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT

start() {
  cat > "$work/influx.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc"
[meta]
  dir = "$work/$1/meta"
[data]
  dir = "$work/$1/data"
  wal-dir = "$work/$1/wal"
  query-log-enabled = false
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$port"
  log-enabled = false
CONF
  influxd -config "$work/influx.conf" > "$work/$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ping" > /dev/null && return; sleep 0.1; done
  echo "influxd did not start" >&2; exit 1
}
stop() { kill "$pid"; wait "$pid" 2>/dev/null || true; }
measure() {
  local card heap rss
  card=$(curl -s "http://127.0.0.1:$port/query" --data-urlencode "db=bench" --data-urlencode "q=SHOW SERIES CARDINALITY" | sed -E 's/.*"values":\[\[([0-9]+)\]\].*/\1/')
  heap=$(curl -s "http://127.0.0.1:$port/debug/vars" | tr ',' '\n' | sed -n 's/.*"HeapInuse": *\([0-9]*\).*/\1/p' | head -1)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  printf '%-22s %-14s series %8s  heap in use %6d MiB  RSS %6d MiB\n' "$1" "$2" "$card" $((heap / 1048576)) $((rss / 1024))
}
run() {
  local name=$1 tagged=$2
  start "$name"
  curl -s -XPOST "http://127.0.0.1:$port/query" --data-urlencode "q=CREATE DATABASE bench" > /dev/null
  # 600 pastures' worth of herds and meters scaled to the sample: 1 herd per 250 animals, 1 meter per 50.
  awk -v n="$animals" -v per="$per" -v tagged="$tagged" 'BEGIN {
    t0 = 1775000000000000000
    for (m = 0; m < per; m++) for (a = 0; a < n; a++) {
      herd = int(a / 250); pasture = int(herd / 4); dev = int(a / 50)
      tag = tagged ? sprintf(",animal=2150121%08d", a) : ""
      printf "milking,boot=1764345600,county=150121,device=MM%d,herd=H%d%s,pasture=P%d yield_kg=%.1f,seq=%di %d\n", dev, herd, tag, pasture, 10 + (a % 15), m * n + a, t0 + (m * 43200 + a % 40000) * 1000000000
    }
  }' | split -l 5000 - "$work/chunk."
  local began=$(date +%s.%N)
  for f in "$work"/chunk.*; do
    curl -sf -XPOST "http://127.0.0.1:$port/write?db=bench&precision=ns" --data-binary "@$f" > /dev/null
  done
  local took=$(echo "$(date +%s.%N) - $began" | bc)
  rm -f "$work"/chunk.*
  sleep 2
  measure "$name" "written ${took%???????}s"
  stop; start "$name"; sleep 2
  measure "$name" "restarted"
  stop
}
echo "InfluxDB $(influxd version | head -1); $animals animals x $per milkings"
run no-animal-tag 0
run animal-tag 1
