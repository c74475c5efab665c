#!/usr/bin/env bash
# A local cluster of N platform hosts behind HAProxy, on one PostgreSQL and one InfluxDB (deploy/servers.sh's instance).
# Usage: deploy/cluster.sh start|stop|status [--hosts N] [--keep-servers]
#   start   starts deploy/servers.sh's instance (if it is not running), makes the certificates, then N hohhot-platform
#           processes (host 1 first: it creates the token signing key the others share) and HAProxy in front of them.
#   stop    stops HAProxy and the hosts by PID (SIGTERM, then SIGKILL after 60 s), then the servers unless --keep-servers.
#   status  each host's PID and health, HAProxy's PID and ports.
# Environment: deploy/servers.sh's (HOHHOT_DATA_DIR, HOHHOT_PG_PORT, HOHHOT_MQTT_PORT, HOHHOT_INFLUX_PORT,
# HOHHOT_INFLUX_RPC_PORT), HOHHOT_CLUSTER_PORT_BASE (default 19400), HOHHOT_CLUSTER_DIR (default
# $HOHHOT_DATA_DIR/cluster), HOHHOT_CLUSTER_DATABASE (the PostgreSQL and InfluxDB database, created if missing; default
# the servers' own "hohhot"). Ports, all on 127.0.0.1:
#   HAProxy: base+0 the API (TLS passed through: HTTP/2 for gRPC and HTTP/1.1 for REST by ALPN at the host),
#            base+1 the MQTT endpoint (mqtts, passed through), base+2 HAProxy's stats page (HTTP, loopback).
#   host i (1..N): base+10*i + 0 API, 1 MQTT, 2 silo, 3 Orleans gateway, 4 metrics and the operator's /health page,
#   5 the balancer's health listener (GET /health only, 200 or 503; on HOHHOT_CLUSTER_HEALTH_ADDRESS, default 127.0.0.1).
# Everything lives under $HOHHOT_DATA_DIR/cluster: certs/, haproxy.cfg, haproxy.pid, host-I.pid, host-I.log.
# The platform binary is the built one (dotnet build); HOHHOT_PLATFORM_DLL names another.
# One host in a network namespace (the partition proof, tests/HohhotCluster.Telemetry.ClusterTests): with
# HOHHOT_CLUSTER_NETNS_HOST=N, host N runs inside namespace HOHHOT_CLUSTER_NETNS (which must exist) at
# HOHHOT_CLUSTER_NETNS_ADDRESS and reaches PostgreSQL and InfluxDB at HOHHOT_CLUSTER_NETNS_PG (host:port) and
# HOHHOT_CLUSTER_NETNS_INFLUX (URL); the other silos advertise HOHHOT_CLUSTER_SILO_ADDRESS (an address of this
# namespace the host inside reaches), and HAProxy checks every host by a TCP connect to its port (it cannot reach the
# namespace's loopback /health).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

command=${1:-}; shift || true
hosts=3; keep_servers=0
while (( $# )); do
    case $1 in
        --hosts) hosts=${2:?--hosts N}; shift 2 ;;
        --keep-servers) keep_servers=1; shift ;;
        *) echo "cluster.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
[[ $hosts =~ ^[1-9]$ ]] || { echo "cluster.sh: --hosts must be 1-9" >&2; exit 2; }

export HOHHOT_DATA_DIR="${HOHHOT_DATA_DIR:-$repo/.data/cluster}"
base=${HOHHOT_CLUSTER_PORT_BASE:-19400}
dir="${HOHHOT_CLUSTER_DIR:-$HOHHOT_DATA_DIR/cluster}"
certs="$dir/certs"
dll="${HOHHOT_PLATFORM_DLL:-$repo/src/HohhotCluster.Telemetry.Host/bin/Debug/net10.0/hohhot-platform.dll}"
api_port=$base; mqtt_port=$((base + 1)); stats_port=$((base + 2))
health_address="${HOHHOT_CLUSTER_HEALTH_ADDRESS:-127.0.0.1}"

log() { printf '[%s] cluster: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { printf 'cluster.sh: ERROR: %s\n' "$*" >&2; exit 1; }
port_of() { echo $((base + 10 * $1 + $2)); }   # host, offset
pid_alive() { [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null; }
read_pid() { { head -n 1 -- "$1" | tr -d '[:space:]'; } 2>/dev/null || true; }

# The pid in a pid file, if that process is still the one started (its command line names the program).
live_pid() {
    local pid; pid="$(read_pid "$1")"
    pid_alive "$pid" && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$2" && echo "$pid" || true
}

netns_host=${HOHHOT_CLUSTER_NETNS_HOST:-0}
in_netns() { [[ $1 == "$netns_host" ]]; }
host_address() { if in_netns "$1"; then echo "$HOHHOT_CLUSTER_NETNS_ADDRESS"; else echo 127.0.0.1; fi; }
silo_address() { if in_netns "$1"; then echo "$HOHHOT_CLUSTER_NETNS_ADDRESS"; else echo "${HOHHOT_CLUSTER_SILO_ADDRESS:-127.0.0.1}"; fi; }
# Host $1's health listener (Operations:HealthUrl: GET /health only), inside its namespace when it is in one.
host_healthy() {
    if in_netns "$1"; then ip netns exec "$HOHHOT_CLUSTER_NETNS" curl -sf -o /dev/null "http://127.0.0.1:$(port_of "$1" 5)/health"
    else curl -sf -o /dev/null "http://$health_address:$(port_of "$1" 5)/health"; fi
}
# HAProxy's check of host $1: /health on its health listener, or a TCP connect to the server's port when a host is in
# a namespace (HAProxy cannot reach that namespace's loopback).
check_of() { if (( netns_host )); then echo "check"; else echo "check addr $health_address port $(port_of "$1" 5)"; fi; }
httpchk() { (( netns_host )) || echo "    option httpchk GET /health"; }

# A certificate each silo presents both as TLS server and as client (serverAuth and clientAuth), from certs.sh's CA.
silo_certificate() {
    [[ -s $certs/silo.pem && -s $certs/silo.key ]] && return 0
    (umask 077; openssl genrsa -out "$certs/silo.key" 2048 2>/dev/null)
    openssl req -new -key "$certs/silo.key" -subj "/O=HohhotCluster.Telemetry/CN=hohhot-silo" -out "$certs/silo.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$certs/silo.ext"
    openssl x509 -req -in "$certs/silo.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial -sha256 -days 825 \
        -extfile "$certs/silo.ext" -out "$certs/silo.pem" 2>/dev/null
    rm -f "$certs/silo.csr" "$certs/silo.ext"
}

write_haproxy_config() {
    local cfg="$dir/haproxy.cfg" i
    {
        cat <<EOF
# Written by deploy/cluster.sh: TCP in front of $hosts platform hosts. A host is in while its health listener
# (Operations:HealthUrl, GET /health only) answers 200: a host that is stopping answers 503 first (Cluster:DrainDelay), then drains.
global
    maxconn 4000
defaults
    mode tcp
    timeout connect 2s
    timeout client 10m
    timeout server 10m
    timeout check 2s
    option redispatch
    retries 2
    default-server inter 1s fall 2 rise 2 on-marked-down shutdown-sessions
frontend api
    bind 127.0.0.1:$api_port
    default_backend api_hosts
frontend mqtt
    bind 127.0.0.1:$mqtt_port
    default_backend mqtt_hosts
backend api_hosts
    balance roundrobin
$(httpchk)
EOF
        for i in $(seq 1 "$hosts"); do
            echo "    server host$i $(host_address "$i"):$(port_of "$i" 0) $(check_of "$i")"
        done
        cat <<EOF
backend mqtt_hosts
    balance leastconn
$(httpchk)
EOF
        for i in $(seq 1 "$hosts"); do
            echo "    server host$i $(host_address "$i"):$(port_of "$i" 1) $(check_of "$i")"
        done
        cat <<EOF
listen stats
    mode http
    bind 127.0.0.1:$stats_port
    stats enable
    stats uri /
EOF
    } > "$cfg"
    haproxy -c -q -f "$cfg" || die "HAProxy refused $cfg"
}

start_host() {
    local i=$1 pid pg=$HOHHOT_PG_CONNECTION influx=$HOHHOT_INFLUX_URL address health inside=()
    pid="$(live_pid "$dir/host-$i.pid" hohhot-platform)"
    if [[ -n $pid ]]; then log "host $i already running (pid $pid)"; return 0; fi
    address="$(host_address "$i")"
    if in_netns "$i"; then
        inside=(ip netns exec "$HOHHOT_CLUSTER_NETNS")
        pg="${pg/Host=127.0.0.1;Port=$HOHHOT_PG_PORT/Host=${HOHHOT_CLUSTER_NETNS_PG%:*};Port=${HOHHOT_CLUSTER_NETNS_PG##*:}}"
        influx=$HOHHOT_CLUSTER_NETNS_INFLUX
        log "host $i: in network namespace $HOHHOT_CLUSTER_NETNS at $address"
    fi
    health="$health_address"; in_netns "$i" && health=127.0.0.1
    log "host $i: API $(port_of "$i" 0), MQTT $(port_of "$i" 1), silo $(port_of "$i" 2), gateway $(port_of "$i" 3), metrics $(port_of "$i" 4), health $health:$(port_of "$i" 5)"
    "${inside[@]}" env Postgres__ConnectionString="$pg;Maximum Pool Size=40" \
        Influx__Url="$influx" Influx__Database="$HOHHOT_INFLUX_DATABASE" \
        Platform__ApiUrl="https://$address:$(port_of "$i" 0)" \
        Platform__TlsCertificateFile="$certs/server.pem" Platform__TlsKeyFile="$certs/server.key" \
        MqttEndpoint__Url="mqtts://$address:$(port_of "$i" 1)" \
        Platform__SiloPort="$(port_of "$i" 2)" Platform__GatewayPort="$(port_of "$i" 3)" \
        Platform__ClusterId="${HOHHOT_CLUSTER_ID:-hohhot-cluster}" \
        Operations__MetricsUrl="http://127.0.0.1:$(port_of "$i" 4)" \
        Operations__HealthUrl="http://$health:$(port_of "$i" 5)" \
        Cluster__Membership=postgres Cluster__AdvertisedAddress="$(silo_address "$i")" \
        Cluster__SiloCertificateFile="$certs/silo.pem" Cluster__SiloKeyFile="$certs/silo.key" Cluster__SiloCaFile="$certs/ca.pem" \
        Identity__SigningKeyFile="$dir/token-signing-key.pem" \
        Identity__BootstrapOperatorPasswordFile="$dir/operator.password" \
        setsid dotnet "$dll" >>"$dir/host-$i.log" 2>&1 < /dev/null &
    echo $! > "$dir/host-$i.pid"
}

wait_healthy() {
    local i=$1 n
    for n in $(seq 1 240); do
        host_healthy "$i" && { log "host $i healthy"; return 0; }
        [[ -n "$(live_pid "$dir/host-$i.pid" hohhot-platform)" ]] || { tail -n 40 "$dir/host-$i.log" >&2; die "host $i exited"; }
        sleep 0.5
    done
    tail -n 40 "$dir/host-$i.log" >&2
    die "host $i did not become healthy in 120 s"
}

start() {
    command -v haproxy >/dev/null || {
        log "installing Debian's haproxy"
        (flock -w 900 7 || die "timed out waiting for the apt lock"
         command -v haproxy >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends haproxy) 7>/tmp/hohhot-servers-apt.lock
    }
    [[ -f $dll ]] || die "the platform is not built: $dll (dotnet build src/HohhotCluster.Telemetry.Host)"
    bash deploy/servers.sh start
    eval "$(bash deploy/servers.sh env)"
    if [[ -n ${HOHHOT_CLUSTER_DATABASE:-} ]]; then
        [[ $HOHHOT_CLUSTER_DATABASE =~ ^[a-z][a-z0-9_]{0,62}$ ]] || die "HOHHOT_CLUSTER_DATABASE must be a plain lower-case name"
        if [[ -z "$(PGPASSWORD="$HOHHOT_PG_PASSWORD" psql -qtA -h 127.0.0.1 -p "$HOHHOT_PG_PORT" -U hohhot -d postgres \
                -c "select 1 from pg_database where datname = '$HOHHOT_CLUSTER_DATABASE'")" ]]; then
            PGPASSWORD="$HOHHOT_PG_PASSWORD" psql -q -h 127.0.0.1 -p "$HOHHOT_PG_PORT" -U hohhot -d postgres \
                -c "create database $HOHHOT_CLUSTER_DATABASE" >/dev/null
        fi
        curl -sf -XPOST "$HOHHOT_INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE \"$HOHHOT_CLUSTER_DATABASE\"" >/dev/null
        HOHHOT_PG_CONNECTION="${HOHHOT_PG_CONNECTION%Database=*}Database=$HOHHOT_CLUSTER_DATABASE"
        HOHHOT_INFLUX_DATABASE=$HOHHOT_CLUSTER_DATABASE
    fi
    mkdir -p "$dir"; chmod 0700 "$dir"
    bash deploy/certs.sh "$certs" 127.0.0.1 ::1 localhost ${HOHHOT_CLUSTER_NETNS_ADDRESS:-} >/dev/null
    silo_certificate
    [[ -s $dir/operator.password ]] || (umask 077; openssl rand -hex 24 > "$dir/operator.password")
    start_host 1
    wait_healthy 1
    local i
    for i in $(seq 2 "$hosts"); do start_host "$i"; done
    for i in $(seq 2 "$hosts"); do wait_healthy "$i"; done
    write_haproxy_config
    if [[ -z "$(live_pid "$dir/haproxy.pid" haproxy)" ]]; then
        haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" || die "HAProxy did not start"
    else
        # A changed host count: reload in place (the new process takes the listeners over).
        haproxy -D -f "$dir/haproxy.cfg" -p "$dir/haproxy.pid" -sf "$(read_pid "$dir/haproxy.pid")"
    fi
    log "HAProxy: API https://127.0.0.1:$api_port, MQTT mqtts://127.0.0.1:$mqtt_port, stats http://127.0.0.1:$stats_port/"
    log "operator password: $dir/operator.password; CA: $certs/ca.pem"
}

stop_pid_file() {
    local file=$1 needle=$2 pid n
    pid="$(live_pid "$file" "$needle")"
    [[ -n $pid ]] || { rm -f "$file"; return 0; }
    kill -TERM "$pid" 2>/dev/null || true
    for n in $(seq 1 120); do pid_alive "$pid" || break; sleep 0.5; done
    pid_alive "$pid" && { log "pid $pid did not stop in 60 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
    rm -f "$file"
}

stop() {
    stop_pid_file "$dir/haproxy.pid" haproxy
    local file
    for file in "$dir"/host-*.pid; do
        [[ -e $file ]] || continue
        stop_pid_file "$file" hohhot-platform &
    done
    wait
    (( keep_servers )) || bash deploy/servers.sh stop
}

status() {
    local i pid rc=0
    for file in "$dir"/host-*.pid; do
        [[ -e $file ]] || continue
        i=${file##*/host-}; i=${i%.pid}
        pid="$(live_pid "$file" hohhot-platform)"
        if [[ -z $pid ]]; then echo "host $i: stopped"; rc=1
        elif host_healthy "$i"; then echo "host $i: pid $pid, healthy (API $(port_of "$i" 0), MQTT $(port_of "$i" 1))"
        else echo "host $i: pid $pid, NOT healthy"; rc=1; fi
    done
    pid="$(live_pid "$dir/haproxy.pid" haproxy)"
    if [[ -n $pid ]]; then echo "haproxy: pid $pid, API 127.0.0.1:$api_port, MQTT 127.0.0.1:$mqtt_port, stats 127.0.0.1:$stats_port"
    else echo "haproxy: stopped"; rc=1; fi
    return $rc
}

case $command in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: deploy/cluster.sh start|stop|status [--hosts N] [--keep-servers]" >&2; exit 2 ;;
esac
