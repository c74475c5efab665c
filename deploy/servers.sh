#!/usr/bin/env bash
# Lifecycle of the three backing servers (PostgreSQL, Mosquitto 2, InfluxDB 1.x) for ONE
# hohhot instance. Everything listens on 127.0.0.1 only, on non-default ports, with all
# data/config/logs/pid files under $HOHHOT_DATA_DIR. Processes are only ever stopped by the
# PID this script recorded (verified against the instance's own config path), never by name,
# and system services are never touched.
#
# Usage: deploy/servers.sh start|stop|restart|status|env
#        deploy/servers.sh start-one|stop-one|kill-one|freeze-one|thaw-one pg|mqtt|influx|prom|alertmanager
#
# Environment (defaults):
#   HOHHOT_DATA_DIR          <repo>/.data/demo
#   HOHHOT_PG_PORT           55432
#   HOHHOT_MQTT_PORT         18883
#   HOHHOT_INFLUX_PORT       18086
#   HOHHOT_INFLUX_RPC_PORT   18088
#   HOHHOT_PROM_PORT         19090 (Prometheus starts with `start` only when this is set; `start-one prom` always)
#   HOHHOT_METRICS_TARGETS   127.0.0.1:19464 (the platforms' scrape endpoints, Operations:MetricsUrl; comma separated)
#   HOHHOT_PROM_SCRAPE_INTERVAL 15s, HOHHOT_PROM_RULES deploy/prometheus/hohhot-alerts.yml
#   HOHHOT_ALERTMANAGER_PORT 19093 (Alertmanager starts with `start`, and Prometheus alerts it, only when this is set)
#   HOHHOT_ALERTMANAGER_WEBHOOK_URL (the receiver every alert is POSTed to), HOHHOT_ALERTMANAGER_SMTP host:port with
#   HOHHOT_ALERTMANAGER_EMAIL_TO (and _EMAIL_FROM) for e-mail; HOHHOT_ALERTMANAGER_GROUP_WAIT 30s, _GROUP_INTERVAL 5m,
#   _REPEAT_INTERVAL 4h
#   HOHHOT_MQTT_INGEST_PASSWORD  generated at first start ($HOHHOT_DATA_DIR/secrets/mqtt-ingest.password)
#
# Must run as root (postgres runs via `runuser -u postgres`, mosquitto drops to 'mosquitto').
set -euo pipefail

# shellcheck source=deploy/servers-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-common.sh"

PG_BIN=""

usage() {
    cat >&2 <<EOF
usage: $SCRIPT_NAME start|stop|restart|status|env
       $SCRIPT_NAME start-one|stop-one|kill-one|freeze-one|thaw-one pg|mqtt|influx|prom|alertmanager
instance: HOHHOT_DATA_DIR=$DATA_DIR pg=$PG_PORT mqtt=$MQTT_PORT influx=$INFLUX_PORT influx-rpc=$INFLUX_RPC_PORT prom=$PROM_PORT
EOF
    exit 2
}

# ---------------------------------------------------------------------------------------------
# prerequisites
# ---------------------------------------------------------------------------------------------

find_pg_bin() {
    local d
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n $d && -x $d/initdb && -x $d/pg_ctl && -x $d/postgres && -x $d/psql && -x $d/pg_isready ]] || return 1
    PG_BIN=$d
}

missing_prerequisites() {
    local c missing=()
    find_pg_bin || missing+=(postgresql)
    for c in mosquitto mosquitto_passwd mosquitto_sub mosquitto_pub influxd curl prometheus promtool prometheus-alertmanager amtool setpriv aiosmtpd; do
        command -v "$c" >/dev/null 2>&1 || missing+=("$c")
    done
    id -u postgres  >/dev/null 2>&1 || missing+=(user:postgres)
    id -u mosquitto >/dev/null 2>&1 || missing+=(user:mosquitto)
    id -u prometheus >/dev/null 2>&1 || missing+=(user:prometheus)
    echo "${missing[*]}"
}

ensure_packages() {
    local missing
    missing="$(missing_prerequisites)"
    [[ -z $missing ]] && return 0
    # Two instances may be started concurrently on a clean machine: serialise apt.
    (
        flock -w 900 7 || die "timed out waiting for the apt lock"
        missing="$(missing_prerequisites)"
        if [[ -n $missing ]]; then
            log "missing: $missing -> installing packages"
            apt-get update
            DEBIAN_FRONTEND=noninteractive apt-get install -y postgresql mosquitto mosquitto-clients influxdb curl
            # Without their recommends: exporters with services of their own, documentation. aiosmtpd is the SMTP
            # sink the alert notification tests deliver e-mail to.
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus prometheus-alertmanager python3-aiosmtpd
        fi
    ) 7>/tmp/hohhot-servers-apt.lock
    missing="$(missing_prerequisites)"
    [[ -z $missing ]] || die "still missing after apt-get install: $missing"
}

prepare_common() {
    require_root
    ensure_packages
    mkdir -p "$DATA_DIR" "$RUN_DIR"
    chmod 0700 "$RUN_DIR"
}

# Serialise start/stop/kill of one instance. FD 9 is closed for every daemon we launch so
# that the lock is released when this script exits.
take_instance_lock() {
    mkdir -p "$RUN_DIR"
    exec 9>"$RUN_DIR/servers.lock"
    flock -w 300 9 || die "another $SCRIPT_NAME is operating on $DATA_DIR (lock $RUN_DIR/servers.lock)"
}

# ---------------------------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------------------------

as_pg() { (cd / && runuser -u postgres -- "$@"); }

pg_pid() {
    local pid
    pid="$(read_pid_file "$PG_DATA/postmaster.pid")"
    proc_matches "$pid" "-D $PG_DATA" && echo "$pid"
}

pg_prepare() {
    local sock="$PG_RUN/.s.PGSQL.$PG_PORT" ver
    (( ${#sock} <= 100 )) || die "unix socket path too long (${#sock} > 100 chars): $sock - use a shorter HOHHOT_DATA_DIR"
    mkdir -p "$PG_DATA" "$PG_RUN"
    chown postgres:postgres "$PG_DATA" "$PG_RUN"
    chmod 0700 "$PG_DATA"
    chmod 0755 "$PG_RUN"
    ensure_traversable postgres "$PG_DATA"
    ensure_traversable postgres "$PG_RUN"

    if [[ ! -s $PG_DATA/PG_VERSION ]]; then
        if [[ -n "$(ls -A "$PG_DATA")" ]]; then
            die "$PG_DATA is not empty but has no PG_VERSION - refusing to initdb over it"
        fi
        log "pg: initdb $PG_DATA"
        as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres --encoding=UTF8 --no-locale --data-checksums \
            --auth-local=peer --auth-host=scram-sha-256 >"$PG_RUN/initdb.log" 2>&1 \
            || { tail_logs "$PG_RUN/initdb.log"; die "pg: initdb failed"; }
    fi
    ver="$(cat "$PG_DATA/PG_VERSION")"
    [[ $PG_BIN == "/usr/lib/postgresql/$ver/bin" ]] \
        || die "pg: $PG_DATA was initialised by PostgreSQL $ver but binaries are $PG_BIN"

    # Our settings live in hohhot.conf (rewritten on every start, so port changes apply).
    if ! grep -q "^include_if_exists = 'hohhot.conf'" "$PG_DATA/postgresql.conf"; then
        printf "\n# hohhot instance settings (managed by deploy/servers.sh)\ninclude_if_exists = 'hohhot.conf'\n" \
            >> "$PG_DATA/postgresql.conf"
    fi
    cat > "$PG_DATA/hohhot.conf" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_RUN'
max_connections = 200
password_encryption = 'scram-sha-256'
# durability
fsync = on
synchronous_commit = on
full_page_writes = on
EOF
    cat > "$PG_DATA/pg_hba.conf" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
# TYPE  DATABASE  USER      ADDRESS        METHOD
local   all       postgres                 peer
host    all       all       127.0.0.1/32   scram-sha-256
EOF
    chown postgres:postgres "$PG_DATA/hohhot.conf" "$PG_DATA/pg_hba.conf"
    chmod 0600 "$PG_DATA/hohhot.conf" "$PG_DATA/pg_hba.conf"
}

# Process state letter from /proc/PID/stat (R, S, Z, ...); empty if the PID does not exist.
proc_state() {
    local stat
    stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 0
    stat=${stat##*) }
    echo "${stat%% *}"
}

# postmaster.pid names a PID that still exists but is not our live postmaster. Usually this is
# the zombie of a SIGKILLed postmaster that init has not reaped yet (some container inits reap
# orphans only every second or two); postgres' own kill(pid, 0) check would treat it as a
# running server and refuse to start. Could also be a reused PID after a crash.
# A PID that no longer exists is left to postgres, which then also checks shared memory itself.
pg_clear_stale_lock() {
    local lock="$PG_DATA/postmaster.pid" pid shm_id deadline
    [[ -f $lock ]] || return 0
    pid="$(read_pid_file "$lock")"
    [[ -n $pid && -e /proc/$pid ]] || return 0
    deadline=$((SECONDS + 30))
    while [[ $(proc_state "$pid") == Z ]] && (( SECONDS < deadline )); do sleep 0.2; done
    [[ -e /proc/$pid ]] || return 0
    # Only safe if no process (e.g. an orphaned backend) is still attached to the old
    # shared memory segment (line 7 of postmaster.pid: "<key> <shmid>") - same test postgres does.
    shm_id="$(sed -n 7p "$lock" | awk '{print $2}')"
    if [[ -n $shm_id && -r /proc/sysvipc/shm ]] \
        && awk -v id="$shm_id" '$2 == id && $7 > 0 { f = 1 } END { exit !f }' /proc/sysvipc/shm; then
        die "pg: processes of the old server are still attached to shared memory id $shm_id - not starting"
    fi
    log "pg: postmaster.pid names pid $pid ($(proc_state "$pid")) which is not our postmaster - removing stale lock files"
    rm -f "$lock" "$PG_RUN/.s.PGSQL.$PG_PORT.lock"
}

pg_psql() {
    as_pg "$PG_BIN/psql" -h "$PG_RUN" -p "$PG_PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 -qAtX "$@"
}

pg_start() {
    local pid deadline
    pg_prepare
    if pid="$(pg_pid)"; then
        log "pg: already running (pid $pid)"
    else
        pg_clear_stale_lock
        port_open "$PG_PORT" && die "pg: port 127.0.0.1:$PG_PORT is already in use by another process"
        log "pg: starting on 127.0.0.1:$PG_PORT (data $PG_DATA)"
        as_pg "$PG_BIN/pg_ctl" start -D "$PG_DATA" -l "$PG_LOG" -w -t "$START_TIMEOUT" -s 9>&- \
            || { tail_logs "$PG_LOG"; die "pg: pg_ctl start failed"; }
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    until "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; do
        if (( SECONDS >= deadline )) || ! pg_pid >/dev/null; then
            tail_logs "$PG_LOG"
            die "pg: not accepting connections on 127.0.0.1:$PG_PORT"
        fi
        sleep 0.5
    done
    pg_psql <<EOF || { tail_logs "$PG_LOG"; die "pg: could not create role/database $PG_USER"; }
DO \$\$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$PG_USER') THEN
    CREATE ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  ELSE
    ALTER ROLE "$PG_USER" LOGIN CREATEDB PASSWORD '$PG_PASSWORD';
  END IF;
END
\$\$;
EOF
    if [[ "$(pg_psql -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DATABASE'")" != 1 ]]; then
        pg_psql -c "CREATE DATABASE \"$PG_DATABASE\" OWNER \"$PG_USER\"" >/dev/null
    fi
    log "pg: ready on 127.0.0.1:$PG_PORT (pid $(pg_pid))"
}

pg_stop() {
    local pid
    if ! pid="$(pg_pid)"; then log "pg: not running"; return 0; fi
    log "pg: stopping (pid $pid, fast)"
    if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m fast -w -t 60 -s; then
        log "pg: fast shutdown did not finish, trying immediate"
        as_pg "$PG_BIN/pg_ctl" stop -D "$PG_DATA" -m immediate -w -t 30 -s || true
    fi
    pg_pid >/dev/null && die "pg: still running (pid $pid)"
    log "pg: stopped"
}

# true if PID is alive (not a zombie) and its command line contains TEXT
proc_cmdline_contains() {
    local cmd
    cmd="$({ tr '\0' ' ' < "/proc/$1/cmdline"; } 2>/dev/null)" || return 1
    [[ -n $cmd && $cmd == *"$2"* ]]
}

children_of() {
    local parent=$1 f stat rest _state ppid _
    for f in /proc/[0-9]*/stat; do
        stat="$(cat "$f" 2>/dev/null)" || continue
        rest=${stat##*) }                 # fields after "(comm) "
        read -r _state ppid _ <<<"$rest"
        [[ $ppid == "$parent" ]] && { f=${f#/proc/}; echo "${f%/stat}"; }
    done
    return 0
}

pg_kill() {
    local pid kids k deadline
    if ! pid="$(pg_pid)"; then log "pg: not running"; return 0; fi
    kids="$(children_of "$pid")"
    log "pg: SIGKILL postmaster pid $pid"
    kill -KILL "$pid"
    # The backends/auxiliary processes notice the postmaster's death and exit by themselves
    # (as after a real crash). Wait for them, and until init has reaped them: orphans are
    # reparented to PID 1, and a not-yet-reaped zombie postmaster makes postgres refuse the
    # next start ("lock file ... already exists").
    deadline=$((SECONDS + STOP_TIMEOUT))
    for k in $pid $kids; do
        while [[ $(proc_state "$k") == Z ]] || proc_cmdline_contains "$k" postgres; do
            if (( SECONDS >= deadline )); then
                log "pg: pid $k still present after ${STOP_TIMEOUT}s (state $(proc_state "$k"))"; break
            fi
            sleep 0.2
        done
    done
    log "pg: killed"
}

# ---------------------------------------------------------------------------------------------
# Mosquitto
# ---------------------------------------------------------------------------------------------

mq_prepare() {
    mkdir -p "$MQ_DIR" "$MQ_PERSIST_DIR"
    install -m 0640 "$DEPLOY_DIR/mosquitto/acl.conf" "$MQ_ACL"
    cat > "$MQ_CONF" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
# Started as root in the foreground (PID recorded by the script in $MQ_PID_FILE);
# mosquitto drops privileges to user 'mosquitto' itself.
per_listener_settings false
listener $MQTT_PORT 127.0.0.1
allow_anonymous false
password_file $MQ_PASSWD
acl_file $MQ_ACL

persistence true
persistence_location $MQ_PERSIST_DIR/
autosave_interval 1
autosave_on_changes true
persistent_client_expiration 7d

max_queued_messages 0
max_queued_bytes 536870912
# 0 = no limit: the subscriber's MQTT5 receive-maximum governs in-flight messages.
max_inflight_messages 0
# Larger packets are refused by the broker (client disconnected).
max_packet_size 65536
# \$SYS every 2 s (default 10): ingestion follows \$SYS/broker/store/messages/count to tell a stalled delivery.
sys_interval 2

log_dest file $MQ_LOG
log_type error
log_type warning
log_type notice
log_type information
connection_messages true
log_timestamp true
log_timestamp_format %Y-%m-%dT%H:%M:%S
EOF
    touch "$MQ_LOG"
    mq_passwd_set "$MQTT_INGEST_USER" "$MQTT_INGEST_PASSWORD"
    chown -R mosquitto:mosquitto "$MQ_DIR"
    chmod 0750 "$MQ_DIR" "$MQ_PERSIST_DIR"
    ensure_traversable mosquitto "$MQ_DIR"
}

mq_auth_check() {
    # Connect as the ingestion user and wait for the retained $SYS version message.
    mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u "$MQTT_INGEST_USER" -P "$MQTT_INGEST_PASSWORD" \
        -i "hohhot-servers-check-$$" -t '$SYS/broker/version' -C 1 -W 3 >/dev/null 2>&1
}

mq_start() {
    local pid deadline
    mq_prepare
    if pid="$(mq_pid)"; then
        log "mqtt: already running (pid $pid)"
    else
        port_open "$MQTT_PORT" && die "mqtt: port 127.0.0.1:$MQTT_PORT is already in use by another process"
        rm -f "$MQ_PID_FILE"
        log "mqtt: starting on 127.0.0.1:$MQTT_PORT (conf $MQ_CONF)"
        # Foreground mode in the background, in its own session: $! is mosquitto's own PID.
        setsid mosquitto -c "$MQ_CONF" </dev/null >>"$MQ_CONSOLE_LOG" 2>&1 9>&- &
        pid=$!
        echo "$pid" > "$MQ_PID_FILE"
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$MQTT_PORT" && mq_auth_check; do
        if ! daemon_starting "$pid" "$MQ_NEEDLE"; then
            tail_logs "$MQ_CONSOLE_LOG" "$MQ_LOG"
            rm -f "$MQ_PID_FILE"
            die "mqtt: mosquitto exited during startup"
        fi
        if (( SECONDS >= deadline )); then
            tail_logs "$MQ_CONSOLE_LOG" "$MQ_LOG"
            die "mqtt: not accepting authenticated connections on 127.0.0.1:$MQTT_PORT after ${START_TIMEOUT}s"
        fi
        sleep 0.3
    done
    log "mqtt: ready on 127.0.0.1:$MQTT_PORT (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# InfluxDB 1.x
# ---------------------------------------------------------------------------------------------

influx_prepare() {
    mkdir -p "$INFLUX_DIR/meta" "$INFLUX_DIR/data" "$INFLUX_DIR/wal"
    cat > "$INFLUX_CONF" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
reporting-disabled = true
bind-address = "127.0.0.1:$INFLUX_RPC_PORT"

[meta]
  dir = "$INFLUX_DIR/meta"
  retention-autocreate = true
  logging-enabled = true

[data]
  dir = "$INFLUX_DIR/data"
  wal-dir = "$INFLUX_DIR/wal"
  # fsync the WAL on every write (durability)
  wal-fsync-delay = "0s"
  query-log-enabled = true

[coordinator]

[retention]
  enabled = true

[shard-precreation]
  enabled = true

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:$INFLUX_PORT"
  auth-enabled = false
  # per-request access log off: ingestion load tests would flood the log
  log-enabled = false
  unix-socket-enabled = false
  flux-enabled = false

[logging]
  format = "logfmt"
  level = "info"
  suppress-logo = true

[continuous_queries]
  enabled = true
EOF
}

influx_ping() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$INFLUX_PORT/ping"; }

influx_start() {
    local pid deadline
    influx_prepare
    if pid="$(influx_pid)"; then
        log "influx: already running (pid $pid)"
    else
        port_open "$INFLUX_PORT" && die "influx: port 127.0.0.1:$INFLUX_PORT is already in use by another process"
        port_open "$INFLUX_RPC_PORT" && die "influx: rpc port 127.0.0.1:$INFLUX_RPC_PORT is already in use by another process"
        rm -f "$INFLUX_PID_FILE"
        log "influx: starting on 127.0.0.1:$INFLUX_PORT (conf $INFLUX_CONF)"
        setsid influxd -config "$INFLUX_CONF" </dev/null >>"$INFLUX_LOG" 2>&1 9>&- &
        pid=$!
        echo "$pid" > "$INFLUX_PID_FILE"
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    until influx_ping; do
        if ! daemon_starting "$pid" "$INFLUX_NEEDLE"; then
            tail_logs "$INFLUX_LOG"
            rm -f "$INFLUX_PID_FILE"
            die "influx: influxd exited during startup"
        fi
        if (( SECONDS >= deadline )); then
            tail_logs "$INFLUX_LOG"
            die "influx: /ping on 127.0.0.1:$INFLUX_PORT did not answer within ${START_TIMEOUT}s"
        fi
        sleep 0.5
    done
    curl -sf -o /dev/null --max-time 10 -XPOST "http://127.0.0.1:$INFLUX_PORT/query" \
        --data-urlencode "q=CREATE DATABASE $INFLUX_DATABASE" \
        || { tail_logs "$INFLUX_LOG"; die "influx: CREATE DATABASE $INFLUX_DATABASE failed"; }
    log "influx: ready on 127.0.0.1:$INFLUX_PORT (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# Prometheus (scrapes the platforms' /metrics, evaluates deploy/prometheus/hohhot-alerts.yml)
# ---------------------------------------------------------------------------------------------

prom_prepare() {
    local t targets="" list
    mkdir -p "$PROM_DIR/data" "$PROM_DIR/targets" "$PROM_DIR/rules"
    [[ -r $PROM_RULES ]] || die "prom: rules file $PROM_RULES not found"
    # A copy the prometheus user can read wherever the repository lives.
    cp -f "$PROM_RULES" "$PROM_DIR/rules/hohhot-alerts.yml"
    IFS=',' read -ra list <<<"$PROM_TARGETS"
    for t in "${list[@]}"; do
        [[ $t =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "prom: HOHHOT_METRICS_TARGETS entry '$t' is not host:port"
        targets+="${targets:+, }'$t'"
    done
    cat > "$PROM_CONF" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
global:
  scrape_interval: $PROM_SCRAPE_INTERVAL
  evaluation_interval: $PROM_SCRAPE_INTERVAL
rule_files:
  - $PROM_DIR/rules/hohhot-alerts.yml
scrape_configs:
  - job_name: hohhot-platform
    metrics_path: /metrics
    static_configs:
      - targets: [$targets]
    file_sd_configs:
      - files: ['$PROM_DIR/targets/*.json']
EOF
    if [[ -n $AM_ENABLED ]]; then
        cat >> "$PROM_CONF" <<EOF
alerting:
  alertmanagers:
    - static_configs:
        - targets: ['127.0.0.1:$AM_PORT']
EOF
    fi
    touch "$PROM_LOG"
    chown -R prometheus:prometheus "$PROM_DIR"
    ensure_traversable prometheus "$PROM_DIR"
    promtool check config "$PROM_CONF" >"$RUN_DIR/promtool.log" 2>&1 \
        || { tail_logs "$RUN_DIR/promtool.log"; die "prom: promtool check config $PROM_CONF failed"; }
}

prom_ready() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$PROM_PORT/-/ready"; }

prom_start() {
    local pid deadline
    prom_prepare
    if pid="$(prom_pid)"; then
        log "prom: already running (pid $pid) - reloading its configuration"
        kill -HUP "$pid"
    else
        port_open "$PROM_PORT" && die "prom: port 127.0.0.1:$PROM_PORT is already in use by another process"
        rm -f "$PROM_PID_FILE"
        log "prom: starting on 127.0.0.1:$PROM_PORT (conf $PROM_CONF)"
        # setpriv execs (runuser would stay as the parent), so $! is prometheus' own PID.
        setsid setpriv --reuid=prometheus --regid=prometheus --init-groups \
            prometheus --config.file="$PROM_CONF" --storage.tsdb.path="$PROM_DIR/data" \
            --storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$PROM_PORT" \
            </dev/null >>"$PROM_LOG" 2>&1 9>&- &
        pid=$!
        echo "$pid" > "$PROM_PID_FILE"
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    until prom_ready; do
        if ! daemon_starting "$pid" "$PROM_NEEDLE"; then
            tail_logs "$PROM_LOG"; rm -f "$PROM_PID_FILE"; die "prom: prometheus exited during startup"
        fi
        if (( SECONDS >= deadline )); then
            tail_logs "$PROM_LOG"; die "prom: not ready on 127.0.0.1:$PROM_PORT after ${START_TIMEOUT}s"
        fi
        sleep 0.3
    done
    log "prom: ready on 127.0.0.1:$PROM_PORT (pid $pid), scraping $PROM_TARGETS every $PROM_SCRAPE_INTERVAL"
}

prom_stop() { stop_daemon prom "$PROM_PID_FILE" "$PROM_NEEDLE"; }
prom_kill() { kill_daemon prom "$PROM_PID_FILE" "$PROM_NEEDLE"; }

# ---------------------------------------------------------------------------------------------
# Alertmanager (receives Prometheus' alerts, routes them to the webhook and e-mail receivers)
# ---------------------------------------------------------------------------------------------

am_prepare() {
    mkdir -p "$AM_DIR/data"
    local smtp_global="" email="" webhook=""
    if [[ -n $AM_SMTP && -n $AM_EMAIL_TO ]]; then
        [[ $AM_SMTP =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "alertmanager: HOHHOT_ALERTMANAGER_SMTP '$AM_SMTP' is not host:port"
        smtp_global="  smtp_smarthost: '$AM_SMTP'
  smtp_from: '$AM_EMAIL_FROM'
  smtp_require_tls: false"
        email="    email_configs:
      - to: '$AM_EMAIL_TO'
        send_resolved: true"
    fi
    if [[ -n $AM_WEBHOOK_URL ]]; then
        [[ $AM_WEBHOOK_URL =~ ^https?://[^[:space:]\']+$ ]] || die "alertmanager: HOHHOT_ALERTMANAGER_WEBHOOK_URL '$AM_WEBHOOK_URL' is not an http(s) URL"
        webhook="    webhook_configs:
      - url: '$AM_WEBHOOK_URL'
        send_resolved: true"
    fi
    [[ -n $webhook || -n $email ]] || log "alertmanager: no webhook URL and no e-mail configured - alerts reach nobody"
    cat > "$AM_CONF" <<EOF
# Managed by deploy/servers.sh - rewritten on every start.
global:
  resolve_timeout: 5m
$smtp_global
route:
  receiver: hohhot-duty
  group_by: ['alertname', 'instance']
  group_wait: $AM_GROUP_WAIT
  group_interval: $AM_GROUP_INTERVAL
  repeat_interval: $AM_REPEAT_INTERVAL
receivers:
  - name: hohhot-duty
$webhook
$email
EOF
    touch "$AM_LOG"
    chown -R prometheus:prometheus "$AM_DIR"
    ensure_traversable prometheus "$AM_DIR"
    amtool check-config "$AM_CONF" >"$RUN_DIR/amtool.log" 2>&1 \
        || { tail_logs "$RUN_DIR/amtool.log"; die "alertmanager: amtool check-config $AM_CONF failed"; }
}

am_ready() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$AM_PORT/-/ready"; }

am_start() {
    local pid deadline
    am_prepare
    if pid="$(am_pid)"; then
        log "alertmanager: already running (pid $pid) - reloading its configuration"
        kill -HUP "$pid"
    else
        port_open "$AM_PORT" && die "alertmanager: port 127.0.0.1:$AM_PORT is already in use by another process"
        rm -f "$AM_PID_FILE"
        log "alertmanager: starting on 127.0.0.1:$AM_PORT (conf $AM_CONF)"
        # No cluster (an empty --cluster.listen-address): one Alertmanager per instance, no gossip port.
        setsid setpriv --reuid=prometheus --regid=prometheus --init-groups \
            prometheus-alertmanager --config.file="$AM_CONF" --storage.path="$AM_DIR/data" \
            --web.listen-address="127.0.0.1:$AM_PORT" --cluster.listen-address= \
            </dev/null >>"$AM_LOG" 2>&1 9>&- &
        pid=$!
        echo "$pid" > "$AM_PID_FILE"
    fi
    deadline=$((SECONDS + START_TIMEOUT))
    until am_ready; do
        if ! daemon_starting "$pid" "$AM_NEEDLE"; then
            tail_logs "$AM_LOG"; rm -f "$AM_PID_FILE"; die "alertmanager: exited during startup"
        fi
        if (( SECONDS >= deadline )); then
            tail_logs "$AM_LOG"; die "alertmanager: not ready on 127.0.0.1:$AM_PORT after ${START_TIMEOUT}s"
        fi
        sleep 0.3
    done
    log "alertmanager: ready on 127.0.0.1:$AM_PORT (pid $pid), webhook ${AM_WEBHOOK_URL:-none}, e-mail ${AM_EMAIL_TO:-none}"
}

am_stop() { stop_daemon alertmanager "$AM_PID_FILE" "$AM_NEEDLE"; }
am_kill() { kill_daemon alertmanager "$AM_PID_FILE" "$AM_NEEDLE"; }


# ---------------------------------------------------------------------------------------------
# generic stop / kill for mosquitto and influxd
# ---------------------------------------------------------------------------------------------

# stop_daemon NAME PID_FILE NEEDLE
mq_stop()     { stop_daemon mqtt   "$MQ_PID_FILE"     "$MQ_NEEDLE"; }
influx_stop() { stop_daemon influx "$INFLUX_PID_FILE" "$INFLUX_NEEDLE"; }
mq_kill()     { kill_daemon mqtt   "$MQ_PID_FILE"     "$MQ_NEEDLE"; }
influx_kill() { kill_daemon influx "$INFLUX_PID_FILE" "$INFLUX_NEEDLE"; }

# ---------------------------------------------------------------------------------------------
# env / status
# ---------------------------------------------------------------------------------------------

env_lines() {
    local k v
    while IFS='=' read -r k v; do
        printf 'export %s=%s\n' "$k" "$(shell_quote "$v")"
    done <<EOF
HOHHOT_DATA_DIR=$DATA_DIR
HOHHOT_PG_PORT=$PG_PORT
HOHHOT_PG_CONNECTION=Host=127.0.0.1;Port=$PG_PORT;Username=$PG_USER;Password=$PG_PASSWORD;Database=$PG_DATABASE
HOHHOT_PG_PASSWORD=$PG_PASSWORD
HOHHOT_SECRETS_DIR=$SECRETS_DIR
HOHHOT_PG_DATA=$PG_DATA
HOHHOT_MQTT_HOST=127.0.0.1
HOHHOT_MQTT_PORT=$MQTT_PORT
HOHHOT_MQTT_INGEST_USER=$MQTT_INGEST_USER
HOHHOT_MQTT_INGEST_PASSWORD=$MQTT_INGEST_PASSWORD
HOHHOT_MOSQUITTO_PID_FILE=$MQ_PID_FILE
HOHHOT_INFLUX_PORT=$INFLUX_PORT
HOHHOT_INFLUX_RPC_PORT=$INFLUX_RPC_PORT
HOHHOT_INFLUX_URL=http://127.0.0.1:$INFLUX_PORT
HOHHOT_INFLUX_DATABASE=$INFLUX_DATABASE
HOHHOT_INFLUX_PID_FILE=$INFLUX_PID_FILE
HOHHOT_PROM_URL=http://127.0.0.1:$PROM_PORT
HOHHOT_ALERTMANAGER_URL=http://127.0.0.1:$AM_PORT
EOF
}

write_env_file() {
    local tmp="$ENV_FILE.tmp.$$"
    { echo "# Written by deploy/servers.sh start - source it to reach this instance."; env_lines; } > "$tmp"
    chmod 0600 "$tmp"
    mv -f "$tmp" "$ENV_FILE"
}

status_all() {
    local pid all_up=0
    find_pg_bin || true
    if pid="$(pg_pid)"; then
        if [[ -n $PG_BIN ]] && "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; then
            echo "pg:     running (pid $pid) 127.0.0.1:$PG_PORT, accepting connections"
        else
            echo "pg:     running (pid $pid) 127.0.0.1:$PG_PORT, NOT accepting connections"; all_up=3
        fi
    else
        echo "pg:     stopped"; all_up=3
    fi
    if pid="$(mq_pid)"; then
        if port_open "$MQTT_PORT"; then
            echo "mqtt:   running (pid $pid) 127.0.0.1:$MQTT_PORT, port open"
        else
            echo "mqtt:   running (pid $pid) 127.0.0.1:$MQTT_PORT, port NOT open"; all_up=3
        fi
    else
        echo "mqtt:   stopped"; all_up=3
    fi
    if pid="$(influx_pid)"; then
        if influx_ping; then
            echo "influx: running (pid $pid) 127.0.0.1:$INFLUX_PORT, ping ok"
        else
            echo "influx: running (pid $pid) 127.0.0.1:$INFLUX_PORT, ping FAILED"; all_up=3
        fi
    else
        echo "influx: stopped"; all_up=3
    fi
    if pid="$(prom_pid)"; then
        if prom_ready; then echo "prom:   running (pid $pid) 127.0.0.1:$PROM_PORT, ready"
        else echo "prom:   running (pid $pid) 127.0.0.1:$PROM_PORT, NOT ready"; all_up=3; fi
    else
        echo "prom:   stopped"
    fi
    if pid="$(am_pid)"; then
        if am_ready; then echo "alertmanager: running (pid $pid) 127.0.0.1:$AM_PORT, ready"
        else echo "alertmanager: running (pid $pid) 127.0.0.1:$AM_PORT, NOT ready"; all_up=3; fi
    else
        echo "alertmanager: stopped"
    fi
    echo "data:   $DATA_DIR"
    return "$all_up"
}

# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

one() {
    local action=$1 server=${2:-}
    case $server in pg|mqtt|influx|prom|alertmanager) ;; *) usage ;; esac
    case $action in
        start) prepare_common; take_instance_lock; find_pg_bin
               case $server in pg) pg_start ;; mqtt) mq_start ;; influx) influx_start ;; prom) prom_start ;; alertmanager) am_start ;; esac
               write_env_file ;;
        stop)  require_root; take_instance_lock; find_pg_bin || true
               case $server in pg) if [[ -n $PG_BIN ]]; then pg_stop; else log "pg: no PostgreSQL binaries - nothing to stop"; fi ;; mqtt) mq_stop ;; influx) influx_stop ;; prom) prom_stop ;; alertmanager) am_stop ;; esac ;;
        kill)  require_root; take_instance_lock
               case $server in pg) pg_kill ;; mqtt) mq_kill ;; influx) influx_kill ;; prom) prom_kill ;; alertmanager) am_kill ;; esac ;;
        freeze|thaw)
               # SIGSTOP / SIGCONT: the server keeps its sockets open and answers nothing (a hung disk, a stalled VM).
               require_root; local pid signal=STOP; [[ $action == thaw ]] && signal=CONT
               # (influx and mqtt are one process each; PostgreSQL's backends would go on without their postmaster)
               case $server in pg|prom|alertmanager) die "freeze/thaw: influx or mqtt" ;; mqtt) pid="$(mq_pid)" ;; influx) pid="$(influx_pid)" ;; esac \
                   || die "$server: not running"
               kill "-$signal" "$pid"; log "$server: SIG$signal pid $pid" ;;
    esac
}

stop_all() {
    require_root
    take_instance_lock
    find_pg_bin || true
    local rc=0
    ( prom_stop ) || rc=1
    ( am_stop ) || rc=1
    ( influx_stop ) || rc=1
    ( mq_stop ) || rc=1
    if [[ -n $PG_BIN ]]; then ( pg_stop ) || rc=1; else log "pg: no PostgreSQL binaries - nothing to stop"; fi
    return "$rc"
}

start_all() {
    prepare_common
    take_instance_lock
    find_pg_bin
    pg_start
    mq_start
    influx_start
    if [[ -n $AM_ENABLED ]]; then am_start; fi
    if [[ -n ${HOHHOT_PROM_PORT:-} ]]; then prom_start; fi
    write_env_file
    log "all servers ready - environment in $ENV_FILE"
}

cmd=${1:-}
case $cmd in
    start)     [[ $# -eq 1 ]] || usage; start_all ;;
    stop)      [[ $# -eq 1 ]] || usage; stop_all ;;
    restart)   [[ $# -eq 1 ]] || usage; stop_all; start_all ;;
    status)    [[ $# -eq 1 ]] || usage; status_all ;;
    env)       [[ $# -eq 1 ]] || usage; env_lines ;;
    start-one) [[ $# -eq 2 ]] || usage; one start "$2" ;;
    stop-one)  [[ $# -eq 2 ]] || usage; one stop "$2" ;;
    kill-one)  [[ $# -eq 2 ]] || usage; one kill "$2" ;;
    freeze-one) [[ $# -eq 2 ]] || usage; one freeze "$2" ;;
    thaw-one)  [[ $# -eq 2 ]] || usage; one thaw "$2" ;;
    *)         usage ;;
esac
