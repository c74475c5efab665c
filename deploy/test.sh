#!/usr/bin/env bash
# Runs every test (unit, integration, end-to-end) against real PostgreSQL, Mosquitto and InfluxDB.
# Installs what is missing from Debian's packages, starts a test instance of each server on its own
# loopback ports with data under .data/test, runs the tests, and stops the servers it started.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

export HOHHOT_DATA_DIR="${HOHHOT_TEST_DATA_DIR:-$repo/.data/test}"
export HOHHOT_PG_PORT="${HOHHOT_TEST_PG_PORT:-55442}"
export HOHHOT_MQTT_PORT="${HOHHOT_TEST_MQTT_PORT:-18893}"
export HOHHOT_INFLUX_PORT="${HOHHOT_TEST_INFLUX_PORT:-18096}"
export HOHHOT_INFLUX_RPC_PORT="${HOHHOT_TEST_INFLUX_RPC_PORT:-18098}"

command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

# The dashboard's browser tests drive Debian's Chromium by its path (tests/HohhotCluster.Telemetry.BrowserTests);
# without it they fail, never skip. fonts-noto-cjk: the pages are Chinese first, and their screenshots need the glyphs.
if [[ ! -x /usr/bin/chromium || ! -d /usr/share/fonts/opentype/noto ]]; then
    (
        flock -w 900 7 || { echo "timed out waiting for the apt lock" >&2; exit 1; }
        [[ -x /usr/bin/chromium && -d /usr/share/fonts/opentype/noto ]] ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-noto-cjk; }
    ) 7>/tmp/hohhot-servers-apt.lock
fi

# The cluster's partition proof (tests/HohhotCluster.Telemetry.ClusterTests, PartitionProofTests) runs a host inside a
# network namespace it creates (ip netns, a veth pair) and cuts it off with iptables DROP; it needs root (CAP_NET_ADMIN)
# and fails, never skips, without them.
if ! command -v iptables >/dev/null || ! command -v ip >/dev/null; then
    (
        flock -w 900 7 || { echo "timed out waiting for the apt lock" >&2; exit 1; }
        { command -v iptables >/dev/null && command -v ip >/dev/null; } ||
            { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables iproute2; }
    ) 7>/tmp/hohhot-servers-apt.lock
fi

bash deploy/servers.sh start
trap 'bash deploy/servers.sh stop || true' EXIT
eval "$(bash deploy/servers.sh env)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build HohhotCluster.Telemetry.sln -nologo -v minimal
# -m:1: one test project at a time; several of them stop and start the shared servers.
# Then, when no test arguments are given, the benchmark's smoke run (bench/run.sh --smoke, its own server instance):
# the benchmark code must keep running; no timing is asserted anywhere.
dotnet test HohhotCluster.Telemetry.sln --no-build -nologo -m:1 --logger "console;verbosity=normal" "$@"

if (( $# == 0 )); then
    echo "== benchmark smoke run: bash bench/run.sh --smoke (on the bench's own server instance, not the tests')"
    env -u HOHHOT_DATA_DIR -u HOHHOT_PG_PORT -u HOHHOT_MQTT_PORT -u HOHHOT_INFLUX_PORT -u HOHHOT_INFLUX_RPC_PORT \
        bash bench/run.sh --smoke
fi
