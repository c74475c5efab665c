#!/usr/bin/env bash
# The platform's benchmark (BENCHMARKS.md): on its OWN server instance (PostgreSQL, Mosquitto, InfluxDB started by
# deploy/servers.sh with fresh data under $HOHHOT_DATA_DIR), with a Release build, it measures in one run:
#   (1) durable ingest of a recorded city-2023 day through the platform host's own MQTT endpoint (batch form, every
#       PUBACK durable) against (1a) a raw MQTTnet endpoint that only acknowledges and (1b) Mosquitto with the kill-safe
#       configuration (raw: nobody subscribes), same publisher, same gateways, same publishes;
#   (2) raw InfluxDB, (3) the platform's InfluxDB writer against the bare loader, (4) query latency under 16 callers,
#   (5) host memory after the demo profile and the city day, (6) a whole city's hour held during an outage (host down),
#       drained after the host restarts (and into the raw endpoint); then the BenchmarkDotNet hot-path benchmarks.
# Prints one table (also in $work/table.md). Every figure is meant to be read as a ratio to a baseline of the same run.
# With --cluster instead (issue 15): the same recorded load into a 1-host and then a 3-host cluster by deploy/cluster.sh
# behind HAProxy, on databases of their own on the same servers, then the 3 hosts with one SIGKILLed mid-stream (the
# failover time at the gateways); table in $work/table-cluster.md.
#
# Usage: bench/run.sh [--smoke] [--cluster] [--keep-servers] [--no-micro]
#   --smoke         a tiny run (~5,000 readings of the demo fleet, BenchmarkDotNet dry job in-process), a few minutes;
#                   it runs the cluster bench too, at the same tiny size
#   --cluster       the cluster bench only (HOHHOT_BENCH_MESSAGES samples its load as the day's)
#   --keep-servers  leave the bench servers running at the end (stop: same env + deploy/servers.sh stop)
#   --no-micro      skip the BenchmarkDotNet part
#
# Environment (defaults): HOHHOT_DATA_DIR=<repo>/.data/bench HOHHOT_PG_PORT=58442 HOHHOT_MQTT_PORT=21893 (Mosquitto)
#   HOHHOT_INFLUX_PORT=21096 HOHHOT_INFLUX_RPC_PORT=21098 HOHHOT_BENCH_API_PORT=16580 HOHHOT_BENCH_ENDPOINT_PORT=16581
#   (the host's MQTT endpoint, plaintext on loopback) HOHHOT_BENCH_RAW_PORT=16582 (the raw MQTTnet endpoint)
#   HOHHOT_BENCH_SILO_PORT=22111 HOHHOT_BENCH_GATEWAY_PORT=32000 HOHHOT_BENCH_SEED=1
#   HOHHOT_BENCH_BATCH=200 (readings per batch publish, 1-500; each batch also at most 60 KiB)
#   HOHHOT_BENCH_INFLIGHT=8 (publishes awaiting PUBACK per gateway)
#   HOHHOT_BENCH_MESSAGES=0 (0 = the whole recorded day; N = an N-reading stride sample of it, same mix)
#   HOHHOT_BENCH_CLUSTER_PORT_BASE=16600 (deploy/cluster.sh's HOHHOT_CLUSTER_PORT_BASE: HAProxy base+0..2, host i base+10i+0..5)
#   HOHHOT_BENCH_FAILOVER_MESSAGES=0 (a stride sample of the failover hour; 0 = all of it)
# Must run as root (deploy/servers.sh does). The server data of the instance is wiped at every start.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

smoke=0 keep=0 micro=1 cluster=0
for arg in "$@"; do
    case $arg in
        --smoke) smoke=1 ;;
        --cluster) cluster=1 ;;
        --keep-servers) keep=1 ;;
        --no-micro) micro=0 ;;
        *) echo "usage: bench/run.sh [--smoke] [--cluster] [--keep-servers] [--no-micro]" >&2; exit 64 ;;
    esac
done

export HOHHOT_DATA_DIR="${HOHHOT_DATA_DIR:-$repo/.data/bench}"
export HOHHOT_PG_PORT="${HOHHOT_PG_PORT:-58442}"
export HOHHOT_MQTT_PORT="${HOHHOT_MQTT_PORT:-21893}"
export HOHHOT_INFLUX_PORT="${HOHHOT_INFLUX_PORT:-21096}"
export HOHHOT_INFLUX_RPC_PORT="${HOHHOT_INFLUX_RPC_PORT:-21098}"
api_port="${HOHHOT_BENCH_API_PORT:-16580}"
silo_port="${HOHHOT_BENCH_SILO_PORT:-22111}"
gateway_port="${HOHHOT_BENCH_GATEWAY_PORT:-32000}"
endpoint_port="${HOHHOT_BENCH_ENDPOINT_PORT:-16581}"
raw_port="${HOHHOT_BENCH_RAW_PORT:-16582}"
inflight="${HOHHOT_BENCH_INFLIGHT:-8}"
batch="${HOHHOT_BENCH_BATCH:-200}"
seed="${HOHHOT_BENCH_SEED:-1}"
work="$HOHHOT_DATA_DIR/work"          # recordings (kept between runs), logs, ledgers
cfg=Release
sim_dll="$repo/firmware-sim/HohhotCluster.FirmwareSim/bin/$cfg/net10.0/hohhot-sim.dll"
host_dll="$repo/src/HohhotCluster.Telemetry.Host/bin/$cfg/net10.0/hohhot-platform.dll"
loadbench_dll="$repo/bench/HohhotCluster.Telemetry.LoadBench/bin/$cfg/net10.0/hohhot-loadbench.dll"
micro_dll="$repo/bench/HohhotCluster.Telemetry.Benchmarks/bin/$cfg/net10.0/hohhot-benchmarks.dll"

say() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

cleanup() {
    local rc=$?
    # The load bench stops the host itself; this is for an interrupted run. Only our own PID file is used.
    if [[ -f $work/platform.pid ]]; then
        local pid; pid="$(cat "$work/platform.pid")"
        if [[ $pid =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q hohhot-platform.dll; then
            say "stopping the platform host (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
            kill -KILL "$pid" 2>/dev/null || true
        fi
        rm -f "$work/platform.pid"
    fi
    # The raw MQTTnet endpoint (hohhot-loadbench raw-endpoint), likewise stopped by the load bench itself.
    if [[ -f $work/raw-endpoint.pid ]]; then
        local rpid; rpid="$(cat "$work/raw-endpoint.pid")"
        if [[ $rpid =~ ^[0-9]+$ ]] && tr '\0' ' ' < "/proc/$rpid/cmdline" 2>/dev/null | grep -q "hohhot-loadbench.dll raw-endpoint"; then
            kill -TERM "$rpid" 2>/dev/null || true
            for _ in $(seq 1 40); do kill -0 "$rpid" 2>/dev/null || break; sleep 0.25; done
            kill -KILL "$rpid" 2>/dev/null || true
        fi
        rm -f "$work/raw-endpoint.pid"
    fi
    # The cluster bench stops its clusters itself; this is for an interrupted run (by their PID files only).
    local cdir
    for cdir in "$work"/cluster-*; do
        [[ -d $cdir ]] || continue
        HOHHOT_CLUSTER_DIR="$cdir" HOHHOT_CLUSTER_PORT_BASE="${HOHHOT_BENCH_CLUSTER_PORT_BASE:-16600}" \
            bash deploy/cluster.sh stop --keep-servers >/dev/null 2>&1 || true
    done
    if (( keep == 0 )); then
        bash deploy/servers.sh stop >/dev/null 2>&1 || say "deploy/servers.sh stop failed (HOHHOT_DATA_DIR=$HOHHOT_DATA_DIR)"
    fi
    exit "$rc"
}
# One run at a time per instance: a second one would stop the first one's servers and host.
mkdir -p "$work"
exec 9>"$HOHHOT_DATA_DIR/bench.lock"
flock -n 9 || { echo "bench/run.sh is already running on $HOHHOT_DATA_DIR" >&2; exit 75; }
trap cleanup EXIT
trap 'exit 130' INT TERM

command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
mkdir -p "$work"
say "load average before: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"

# -- build (Release; no build servers left behind) ------------------------------------------------------------
say "building Release: host, simulator, load bench$( ((micro)) && echo ', micro-benchmarks')"
projects=(src/HohhotCluster.Telemetry.Host firmware-sim/HohhotCluster.FirmwareSim bench/HohhotCluster.Telemetry.LoadBench)
((micro)) && projects+=(bench/HohhotCluster.Telemetry.Benchmarks)
for p in "${projects[@]}"; do
    dotnet build "$p" -c "$cfg" -nologo -v quiet -nodeReuse:false -p:UseSharedCompilation=false >"$work/build.log" 2>&1 \
        || { tail -n 30 "$work/build.log" >&2; echo "build of $p failed" >&2; exit 1; }
done
sim() { dotnet "$sim_dll" "$@"; }

# -- servers: the bench's own instance, fresh every run ---------------------------------------------------------
say "servers: fresh instance in $HOHHOT_DATA_DIR (pg $HOHHOT_PG_PORT, mqtt $HOHHOT_MQTT_PORT, influx $HOHHOT_INFLUX_PORT)"
bash deploy/servers.sh stop >/dev/null 2>&1 || true
rm -rf -- "${HOHHOT_DATA_DIR:?}/pg" "$HOHHOT_DATA_DIR/pg-run" "$HOHHOT_DATA_DIR/mosquitto" "$HOHHOT_DATA_DIR/influxdb" "$HOHHOT_DATA_DIR/run"
bash deploy/servers.sh start 2>"$work/servers.log" || { tail -n 30 "$work/servers.log" >&2; exit 1; }
eval "$(bash deploy/servers.sh env)"

# -- recordings (kept in $work between runs: they depend only on profile, seed and date) ------------------------
# Event times must lie in the past 7 days (the platform quarantines older ones), so the recorded days are recent.
day_ago() { TZ=Asia/Shanghai date -d "$1 days ago" +%F; }
if (( smoke )); then
    city_profile=demo; city_start="$(day_ago 5)"; city_duration=4d; demo_file=""
else
    city_profile=city-2023; city_start="$(day_ago 1)"; city_duration=1d
fi
city_file="$work/$city_profile-$city_start-$city_duration-s$seed.bin"
# A recording kept from an older simulator is of no use when the run-file format changed: compare its header with
# the header of a tiny run recorded now.
sim record --profile demo --seed "$seed" --start "$(day_ago 1)T00:00:00+08:00" --duration 1h --out "$work/format-probe.bin" 2>>"$work/record.log"
format="$(head -c 24 "$work/format-probe.bin" | od -An -tx1 | tr -d ' \n')"
for kept in "$work"/*-s"$seed".bin; do
    if [[ -f $kept && "$(head -c 24 "$kept" | od -An -tx1 | tr -d ' \n')" != "$format" ]]; then
        say "re-recording $(basename "$kept"): older run-file format"
        rm -f "$kept"
    fi
done
rm -f "$work/format-probe.bin"
if [[ ! -s $city_file ]]; then
    rm -f "$work"/*.bin   # older days are no longer valid input
    say "recording $city_profile from $city_start for $city_duration"
    sim record --profile "$city_profile" --seed "$seed" --start "${city_start}T00:00:00+08:00" --duration "$city_duration" \
        --out "$city_file.tmp" 2>>"$work/record.log"
    mv "$city_file.tmp" "$city_file"
fi
sim registry --profile "$city_profile" --seed "$seed" --out "$work/registry-city.json" 2>>"$work/record.log"
animals() { sim profile show "$1" --seed "$seed" | awk '/Hohhot cows|Hohhot goats/ { gsub(",", "", $3); n += $3 } /bases/ { gsub(",", "", $5); gsub(",", "", $7); n += $5 + $7 } END { print n + 0 }'; }
city_animals="$(animals "$city_profile")"
demo_args=()
if (( ! smoke && ! cluster )); then
    demo_start="$(day_ago 3)"
    demo_file="$work/demo-$demo_start-1d-s$seed.bin"
    [[ -s $demo_file ]] || sim record --profile demo --seed "$seed" --start "${demo_start}T00:00:00+08:00" --duration 1d \
        --out "$demo_file" 2>>"$work/record.log"
    demo_args=(--demo-file "$demo_file" --demo-profile demo --demo-animals "$(animals demo)")
fi

# -- every simulated gateway's password: Mosquitto users here (one reload at the end); the platform's credentials
#    are issued through its API by the load bench (and hohhot-sim register), the raw endpoint reads this file ------
say "adding the gateways' broker users"
# shellcheck source=deploy/servers-common.sh
source deploy/servers-common.sh
: > "$work/credentials.txt"
for profile in "$city_profile" demo; do
    sim credentials --profile "$profile" --seed "$seed" --out "$work/credentials-$profile.txt" 2>/dev/null
    cat "$work/credentials-$profile.txt" >> "$work/credentials.txt"
done
sort -u -o "$work/credentials.txt" "$work/credentials.txt"
last_user="" last_pass=""
while read -r user pass; do
    [[ -n $last_user ]] && mq_passwd_set "$last_user" "$last_pass" >/dev/null
    last_user=$user last_pass=$pass
done < "$work/credentials.txt"
bash deploy/broker-user.sh add "$last_user" "$last_pass" 2>>"$work/servers.log"   # the last one reloads the broker and waits

smoke_args=()
(( smoke )) && smoke_args=(--smoke)

# -- the cluster bench: 1 and 3 hosts by deploy/cluster.sh on these servers, then a failover -------------------
cluster_bench() {
    local failover_day failover_file
    failover_day="$(TZ=Asia/Shanghai date -d "$city_start 1 day ago" +%F)"
    if (( smoke )); then
        failover_file="$work/failover-$city_profile-${failover_day}-12h-s$seed.bin"
        [[ -s $failover_file ]] || sim record --profile "$city_profile" --seed "$seed" --start "${failover_day}T06:00:00+08:00" --duration 12h \
            --out "$failover_file" 2>>"$work/record.log"
    else
        # A busy morning hour of the day before the recorded day: its own keys and day, so its totals are checked exactly.
        failover_file="$work/failover-$city_profile-${failover_day}T06-1h-s$seed.bin"
        [[ -s $failover_file ]] || sim record --profile "$city_profile" --seed "$seed" --start "${failover_day}T06:00:00+08:00" --duration 1h \
            --out "$failover_file" 2>>"$work/record.log"
    fi
    say "running the cluster bench (details: $work/cluster-bench.log)"
    dotnet "$loadbench_dll" cluster "${smoke_args[@]}" \
        --work "$work" --data-dir "$HOHHOT_DATA_DIR" --repo "$repo" --sim "$sim_dll" --host "$host_dll" \
        --credentials "$work/credentials.txt" --city-file "$city_file" --city-profile "$city_profile" --failover-file "$failover_file" --seed "$seed" \
        --messages "${HOHHOT_BENCH_MESSAGES:-0}" --failover-messages "${HOHHOT_BENCH_FAILOVER_MESSAGES:-0}" --batch "$batch" --inflight "$inflight" \
        --influx-url "$HOHHOT_INFLUX_URL" --pg-conn "$HOHHOT_PG_CONNECTION;Maximum Pool Size=50" \
        --port-base "${HOHHOT_BENCH_CLUSTER_PORT_BASE:-16600}" > "$work/table-cluster.txt"
}
if (( cluster && ! smoke )); then
    cluster_bench
    say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
    cat "$work/table-cluster.txt"
    exit 0
fi

# -- the load bench (every phase on these servers; it starts and stops the host itself) ------------------------
say "running the load bench (details: $work/loadbench.log)"
dotnet "$loadbench_dll" run "${smoke_args[@]}" \
    --work "$work" --data-dir "$HOHHOT_DATA_DIR" --sim "$sim_dll" --host "$host_dll" \
    --credentials "$work/credentials.txt" --city-file "$city_file" --city-registry "$work/registry-city.json" --city-profile "$city_profile" --city-animals "$city_animals" \
    "${demo_args[@]}" --seed "$seed" \
    --mosquitto-port "$HOHHOT_MQTT_PORT" --mosquitto-pid-file "$HOHHOT_DATA_DIR/run/mosquitto.pid" --raw-port "$raw_port" --endpoint-port "$endpoint_port" \
    --messages "${HOHHOT_BENCH_MESSAGES:-0}" --batch "$batch" --inflight "$inflight" \
    --influx-url "$HOHHOT_INFLUX_URL" --pg-conn "$HOHHOT_PG_CONNECTION;Maximum Pool Size=50" \
    --api-port "$api_port" --silo-port "$silo_port" --gateway-port "$gateway_port" > "$work/table.txt"

# The smoke run keeps the cluster bench's code running too, at the same tiny size.
(( smoke )) && cluster_bench

# -- hot-path micro-benchmarks (servers stopped first: less noise) --------------------------------------------
if (( micro )); then
    (( keep )) || bash deploy/servers.sh stop >/dev/null 2>&1 || true
    if (( smoke )); then job=(--job Dry); else job=(--job Short); fi
    say "BenchmarkDotNet (${job[*]}, in-process) -> $work/micro"
    dotnet "$micro_dll" --filter '*' "${job[@]}" --inProcess --artifacts "$work/micro" > "$work/micro.log" 2>&1 \
        || { tail -n 40 "$work/micro.log" >&2; exit 1; }
fi

say "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$work/table.txt"
if (( smoke )); then echo; cat "$work/table-cluster.txt"; fi
if (( micro )); then
    echo
    for f in "$work"/micro/results/*-report-github.md; do
        [[ -f $f ]] && { sed -n '/^|/p' "$f"; echo; }
    done
fi
