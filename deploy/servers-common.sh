# shellcheck shell=bash
# Shared settings and helpers for deploy/servers.sh and deploy/broker-user.sh.
# Sourced, not executed. Everything here is derived from the HOHHOT_* environment so that
# several instances (different HOHHOT_DATA_DIR + ports) can run side by side.

export PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
umask 022

HOHHOT_REPO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
DEPLOY_DIR="$HOHHOT_REPO_DIR/deploy"

DATA_DIR="$(realpath -m -- "${HOHHOT_DATA_DIR:-$HOHHOT_REPO_DIR/.data/demo}")"
PG_PORT="${HOHHOT_PG_PORT:-55432}"
MQTT_PORT="${HOHHOT_MQTT_PORT:-18883}"
INFLUX_PORT="${HOHHOT_INFLUX_PORT:-18086}"
INFLUX_RPC_PORT="${HOHHOT_INFLUX_RPC_PORT:-18088}"
# Prometheus is started with the others only when HOHHOT_PROM_PORT is set (or by `start-one prom`), so instances
# that do not need it do not compete for one default port.
PROM_PORT="${HOHHOT_PROM_PORT:-19090}"
SECRETS_DIR="$DATA_DIR/secrets"               # root only (0700): this instance's generated passwords

# A secret of this instance, generated at first use (192 random bits) and kept in $SECRETS_DIR: no installation
# shares a default password.
instance_secret() {
    local file="$SECRETS_DIR/$1"
    if [[ ! -s $file ]]; then
        mkdir -p "$SECRETS_DIR" && chmod 0700 "$SECRETS_DIR"
        (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$file.tmp.$$" && mv "$file.tmp.$$" "$file")
    fi
    cat "$file"
}

MQTT_INGEST_USER="hohhot-ingest"
MQTT_INGEST_PASSWORD="${HOHHOT_MQTT_INGEST_PASSWORD:-$(instance_secret mqtt-ingest.password)}"

PG_USER="hohhot"
PG_PASSWORD="$(instance_secret postgres.password)"
PG_DATABASE="hohhot"
INFLUX_DATABASE="hohhot"

RUN_DIR="$DATA_DIR/run"                        # root-owned: pid files, locks, console logs
ENV_FILE="$DATA_DIR/servers.env"

PG_DATA="$DATA_DIR/pg"                         # PGDATA, owned by postgres, 0700
PG_RUN="$DATA_DIR/pg-run"                      # owned by postgres: unix socket + server log
PG_LOG="$PG_RUN/postgresql.log"

MQ_DIR="$DATA_DIR/mosquitto"                   # owned by mosquitto (broker drops privileges)
MQ_CONF="$MQ_DIR/mosquitto.conf"
MQ_PASSWD="$MQ_DIR/passwd"
MQ_ACL="$MQ_DIR/acl.conf"
MQ_PERSIST_DIR="$MQ_DIR/data"
MQ_LOG="$MQ_DIR/mosquitto.log"
MQ_CONSOLE_LOG="$RUN_DIR/mosquitto.console.log"
MQ_PID_FILE="$RUN_DIR/mosquitto.pid"
MQ_PASSWD_LOCK="$RUN_DIR/mosquitto-passwd.lock"

INFLUX_DIR="$DATA_DIR/influxdb"
INFLUX_CONF="$INFLUX_DIR/influxdb.conf"
INFLUX_LOG="$INFLUX_DIR/influxd.log"
INFLUX_PID_FILE="$RUN_DIR/influxd.pid"

PROM_DIR="$DATA_DIR/prometheus"                # owned by prometheus (the server runs as that user)
PROM_CONF="$PROM_DIR/prometheus.yml"
PROM_RULES="${HOHHOT_PROM_RULES:-$DEPLOY_DIR/prometheus/hohhot-alerts.yml}"
PROM_SCRAPE_INTERVAL="${HOHHOT_PROM_SCRAPE_INTERVAL:-15s}"
# host:port of each platform's scrape endpoint (Operations:MetricsUrl), comma separated; more can be added as
# file_sd targets under $PROM_DIR/targets/*.json.
PROM_TARGETS="${HOHHOT_METRICS_TARGETS:-127.0.0.1:19464}"
PROM_LOG="$PROM_DIR/prometheus.log"
PROM_PID_FILE="$RUN_DIR/prometheus.pid"

# Alertmanager (Debian's prometheus-alertmanager): started with the others only when HOHHOT_ALERTMANAGER_PORT is set
# (or by `start-one alertmanager`); Prometheus sends its alerts there only then. It routes every alert to the
# webhook HOHHOT_ALERTMANAGER_WEBHOOK_URL and, when HOHHOT_ALERTMANAGER_SMTP (host:port) and
# HOHHOT_ALERTMANAGER_EMAIL_TO are set, by e-mail.
AM_ENABLED="${HOHHOT_ALERTMANAGER_PORT:+1}"
AM_PORT="${HOHHOT_ALERTMANAGER_PORT:-19093}"
AM_DIR="$DATA_DIR/alertmanager"                # owned by prometheus (the server runs as that user)
AM_CONF="$AM_DIR/alertmanager.yml"
AM_LOG="$AM_DIR/alertmanager.log"
AM_PID_FILE="$RUN_DIR/alertmanager.pid"
AM_WEBHOOK_URL="${HOHHOT_ALERTMANAGER_WEBHOOK_URL:-}"
AM_SMTP="${HOHHOT_ALERTMANAGER_SMTP:-}"
AM_EMAIL_TO="${HOHHOT_ALERTMANAGER_EMAIL_TO:-}"
AM_EMAIL_FROM="${HOHHOT_ALERTMANAGER_EMAIL_FROM:-hohhot-alertmanager@localhost}"
AM_GROUP_WAIT="${HOHHOT_ALERTMANAGER_GROUP_WAIT:-30s}"
AM_GROUP_INTERVAL="${HOHHOT_ALERTMANAGER_GROUP_INTERVAL:-5m}"
AM_REPEAT_INTERVAL="${HOHHOT_ALERTMANAGER_REPEAT_INTERVAL:-4h}"

SCRIPT_NAME="$(basename "$0")"
START_TIMEOUT=60     # seconds to wait for a server to accept connections
STOP_TIMEOUT=20      # seconds between SIGTERM and SIGKILL

log()  { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die()  { printf '%s: ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

require_root() { [[ $EUID -eq 0 ]] || die "must run as root (it switches to the postgres/mosquitto users itself)"; }

check_port_var() {
    local name=$1 value=$2
    [[ $value =~ ^[0-9]+$ ]] && (( value > 0 && value < 65536 )) || die "$name='$value' is not a valid TCP port"
}
check_port_var HOHHOT_PG_PORT "$PG_PORT"
check_port_var HOHHOT_MQTT_PORT "$MQTT_PORT"
check_port_var HOHHOT_INFLUX_PORT "$INFLUX_PORT"
check_port_var HOHHOT_INFLUX_RPC_PORT "$INFLUX_RPC_PORT"
check_port_var HOHHOT_PROM_PORT "$PROM_PORT"
check_port_var HOHHOT_ALERTMANAGER_PORT "$AM_PORT"

# Print the last lines of one or more log files (to stderr), for failure diagnostics.
tail_logs() {
    local f
    for f in "$@"; do
        if [[ -s $f ]]; then
            printf -- '----- last lines of %s -----\n' "$f" >&2
            tail -n 25 -- "$f" >&2 || true
            printf -- '-----\n' >&2
        fi
    done
}

# True if PID is a live (non-zombie) process whose command line contains " NEEDLE ".
# Guards every kill against PID reuse: we only ever signal processes started with
# this instance's own config file / data directory.
proc_matches() {
    local pid=$1 needle=$2 cmd
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    cmd="$({ tr '\0' ' ' < "/proc/$pid/cmdline"; } 2>/dev/null)" || return 1
    [[ -n $cmd && " $cmd" == *" $needle "* ]]
}

# A daemon just started in the background: true while it runs, and also in the moment between the fork and its exec,
# when its command line is still the starting shell's (so a slow exec is not taken for an exit). False once it is
# gone or a zombie.
daemon_starting() {
    local pid=$1 needle=$2 state
    proc_matches "$pid" "$needle" && return 0
    state="$({ awk '{ print $3 }' "/proc/$pid/stat"; } 2>/dev/null)" || return 1
    [[ -n $state && $state != Z && $state != X ]]
}

read_pid_file() { { head -n 1 -- "$1" | tr -d '[:space:]'; } 2>/dev/null || true; }

# Last resort when a pid file is missing/stale: find the process by the exact
# command-line fragment (our own config path), never by program name alone.
find_pid_by_cmdline() {
    local needle=$1 p
    for p in /proc/[0-9]*; do
        p=${p#/proc/}
        if proc_matches "$p" "$needle"; then echo "$p"; return 0; fi
    done
    return 1
}

# Echo the PID of a daemon we started (pid file, verified against command line).
daemon_pid() {
    local pid_file=$1 needle=$2 pid
    pid="$(read_pid_file "$pid_file")"
    if proc_matches "$pid" "$needle"; then echo "$pid"; return 0; fi
    if pid="$(find_pid_by_cmdline "$needle")"; then
        { echo "$pid" > "$pid_file"; } 2>/dev/null || true
        echo "$pid"; return 0
    fi
    return 1
}

MQ_NEEDLE="-c $MQ_CONF"
INFLUX_NEEDLE="-config $INFLUX_CONF"
PROM_NEEDLE="--config.file=$PROM_CONF"
mq_pid()     { daemon_pid "$MQ_PID_FILE" "$MQ_NEEDLE"; }
influx_pid() { daemon_pid "$INFLUX_PID_FILE" "$INFLUX_NEEDLE"; }
prom_pid()   { daemon_pid "$PROM_PID_FILE" "$PROM_NEEDLE"; }
AM_NEEDLE="--config.file=$AM_CONF"
am_pid()     { daemon_pid "$AM_PID_FILE" "$AM_NEEDLE"; }

# True if something accepts TCP connections on 127.0.0.1:PORT.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Add or update one user in the instance's mosquitto password file (serialised with a lock,
# because mosquitto_passwd rewrites the whole file). Creates the file with -c if missing.
mq_passwd_set() {
    local user=$1 password=$2
    mkdir -p "$RUN_DIR"
    (
        flock -w 60 8 || die "could not lock $MQ_PASSWD_LOCK"
        if [[ -s $MQ_PASSWD ]]; then
            mosquitto_passwd -b "$MQ_PASSWD" "$user" "$password"
        else
            mosquitto_passwd -c -b "$MQ_PASSWD" "$user" "$password"
        fi
        # mosquitto re-reads the file on SIGHUP after dropping privileges to 'mosquitto'.
        chown mosquitto:mosquitto "$MQ_PASSWD"
        chmod 0600 "$MQ_PASSWD"
    ) 8>"$MQ_PASSWD_LOCK"
}

# Single-quote a value for a shell `export` line.
shell_quote() { local s=${1//\'/\'\\\'\'}; printf "'%s'" "$s"; }

# Stop (SIGTERM, then SIGKILL after $STOP_TIMEOUT) or kill (SIGKILL) a daemon we started, by its pid file
# verified against its command line.
stop_daemon() {
    local name=$1 pid_file=$2 needle=$3 pid deadline
    if ! pid="$(daemon_pid "$pid_file" "$needle")"; then
        log "$name: not running"; rm -f "$pid_file"; return 0
    fi
    log "$name: stopping (SIGTERM pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while proc_matches "$pid" "$needle"; do
        if (( SECONDS >= deadline )); then
            log "$name: still running after ${STOP_TIMEOUT}s - SIGKILL pid $pid"
            kill -KILL "$pid" 2>/dev/null || true
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    proc_matches "$pid" "$needle" && die "$name: pid $pid survived SIGKILL"
    rm -f "$pid_file"
    log "$name: stopped"
}

kill_daemon() {
    local name=$1 pid_file=$2 needle=$3 pid deadline
    if ! pid="$(daemon_pid "$pid_file" "$needle")"; then
        log "$name: not running"; rm -f "$pid_file"; return 0
    fi
    log "$name: SIGKILL pid $pid"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + STOP_TIMEOUT))
    while proc_matches "$pid" "$needle" && (( SECONDS < deadline )); do sleep 0.1; done
    proc_matches "$pid" "$needle" && die "$name: pid $pid survived SIGKILL"
    rm -f "$pid_file"
    log "$name: killed"
}

for_each_ancestor_top_down() {
    # prints /, /a, /a/b, ... , DIR
    local d=$1 list=()
    while [[ $d != / ]]; do list=("$d" "${list[@]}"); d="$(dirname "$d")"; done
    printf '%s\n' / "${list[@]}"
}

# Every directory from / down to DIR must be traversable (x) by USER; add o+x where needed.
ensure_traversable() {
    local user=$1 dir=$2 d
    while IFS= read -r d; do
        if ! runuser -u "$user" -- test -x "$d" 2>/dev/null; then
            log "chmod o+x $d (so that '$user' can reach $dir)"
            chmod o+x "$d"
        fi
    done < <(for_each_ancestor_top_down "$dir")
}

