#!/usr/bin/env bash
# The main job on one machine: installs what is missing, starts PostgreSQL, InfluxDB and Mosquitto on
# loopback (data under .data/demo), builds and starts the platform, feeds it the demo fleet's
# yesterday (a simulated day, as fast as the broker takes it), verifies it, and shows the numbers.
# The platform keeps running; `deploy/demo.sh stop` stops it and the servers.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export HOHHOT_DATA_DIR="${HOHHOT_DATA_DIR:-$repo/.data/demo}"
export HOHHOT_API="${HOHHOT_API:-http://127.0.0.1:15080}"
pid_file="$HOHHOT_DATA_DIR/run/platform.pid"
log_file="$HOHHOT_DATA_DIR/platform.log"
sim=(dotnet "$repo/firmware-sim/HohhotCluster.FirmwareSim/bin/Debug/net10.0/hohhot-sim.dll")
profile="${HOHHOT_DEMO_PROFILE:-demo}"
seed="${HOHHOT_DEMO_SEED:-1}"

platform_running() { [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

stop_platform() {
    if platform_running; then
        local pid; pid="$(cat "$pid_file")"
        echo "stopping the platform (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$pid_file"
}

if [[ ${1:-} == stop ]]; then
    stop_platform
    bash deploy/servers.sh stop
    exit 0
fi

command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
bash deploy/servers.sh start
eval "$(bash deploy/servers.sh env)"

echo "building the platform, the CLI and the simulator"
dotnet build HohhotCluster.Telemetry.sln -nologo -v quiet

# The demo starts from empty demo databases each time, so that the verify below compares this run's ledger
# with exactly this run's data (HOHHOT_DEMO_KEEP_DATA=1 keeps what an earlier run left).
if [[ ${HOHHOT_DEMO_KEEP_DATA:-0} != 1 ]]; then
    stop_platform
    echo "resetting the demo databases (PostgreSQL 'hohhot', InfluxDB '$HOHHOT_INFLUX_DATABASE')"
    PGPASSWORD="$HOHHOT_PG_PASSWORD" psql -q -h 127.0.0.1 -p "$HOHHOT_PG_PORT" -U hohhot -d postgres \
        -c "drop database if exists hohhot" -c "create database hohhot" >/dev/null
    curl -sf -XPOST "$HOHHOT_INFLUX_URL/query" --data-urlencode "q=DROP DATABASE \"$HOHHOT_INFLUX_DATABASE\"" >/dev/null
    curl -sf -XPOST "$HOHHOT_INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE \"$HOHHOT_INFLUX_DATABASE\"" >/dev/null
fi

if ! platform_running; then
    echo "starting the platform (log: $log_file)"
    Postgres__ConnectionString="$HOHHOT_PG_CONNECTION" \
    Influx__Url="$HOHHOT_INFLUX_URL" Influx__Database="$HOHHOT_INFLUX_DATABASE" \
    Mqtt__Host="$HOHHOT_MQTT_HOST" Mqtt__Port="$HOHHOT_MQTT_PORT" \
    Mqtt__Username="$HOHHOT_MQTT_INGEST_USER" Mqtt__Password="$HOHHOT_MQTT_INGEST_PASSWORD" \
    Platform__ApiUrl="$HOHHOT_API" \
        setsid dotnet src/HohhotCluster.Telemetry.Host/bin/Debug/net10.0/hohhot-platform.dll >>"$log_file" 2>&1 < /dev/null &
    echo $! > "$pid_file"
fi
for _ in $(seq 1 120); do
    deploy/hohhot health >/dev/null 2>&1 && break
    platform_running || { tail -n 40 "$log_file"; echo "the platform exited" >&2; exit 1; }
    sleep 0.5
done
deploy/hohhot health

echo "registering the '$profile' fleet and its gateways"
work="$HOHHOT_DATA_DIR/sim"; mkdir -p "$work"
"${sim[@]}" profile show "$profile"
"${sim[@]}" register --profile "$profile" --seed "$seed" --api "$HOHHOT_API"
"${sim[@]}" credentials --profile "$profile" --seed "$seed" --out "$work/credentials.txt"
while read -r user pass; do bash deploy/broker-user.sh add "$user" "$pass" >/dev/null; done < "$work/credentials.txt"

yesterday="$(TZ=Asia/Shanghai date -d yesterday +%F)"
# The simulator appends to its ledger; verify compares the ledger with the platform, so a fresh platform gets a
# fresh ledger (and no spool left by an earlier run).
[[ ${HOHHOT_DEMO_KEEP_DATA:-0} == 1 ]] || rm -rf "$work/ledger.jsonl" "$work/spool"
echo "publishing the fleet's $yesterday (China Standard Time) through Mosquitto"
"${sim[@]}" run --profile "$profile" --seed "$seed" --start "${yesterday}T00:00:00+08:00" --duration 1d \
    --boot-epoch now --mqtt "$HOHHOT_MQTT_HOST:$HOHHOT_MQTT_PORT" --ledger "$work/ledger.jsonl" --spool "$work/spool"

echo "checking the platform against the simulator's ledger"
verified=0
for _ in $(seq 1 30); do
    if "${sim[@]}" verify --ledger "$work/ledger.jsonl" --api "$HOHHOT_API" --influx "$HOHHOT_INFLUX_URL" --db "$HOHHOT_INFLUX_DATABASE" > "$work/verify.txt" 2>&1; then
        verified=1; break
    fi
    sleep 2
done
cat "$work/verify.txt"
[[ $verified == 1 ]] || echo "verify still reports differences (see above)" >&2

echo
deploy/hohhot throughput --date "$yesterday" --scope city
cat <<MSG

The platform is running (gRPC at $HOHHOT_API, pid $(cat "$pid_file"), log $log_file). Try:
  deploy/hohhot throughput --date $yesterday --scope county --id 150121
  deploy/hohhot throughput --scope city --json          # today, live
  deploy/hohhot health
Stop everything with: deploy/demo.sh stop
MSG
