#!/usr/bin/env bash
# A pasture's or plant's own Mosquitto ("site broker") bridged to the platform's MQTT endpoint: devices on site
# publish to it (QoS 1, its PUBACK is the site's promise), and its bridge forwards everything under
# hohhot/v1/# to the platform with the site's gateway credential (the platform's PUBACK is the platform's promise;
# Mosquitto drops a message from its store only once the platform acknowledged it).
#
# Usage: deploy/site-bridge.sh start|stop|kill|status SITE_DIR
#
# start reads (SITE_DIR/site.env is written from them on the first start and read on later ones):
#   SITE_PORT            loopback port the site broker listens on (devices connect here)
#   SITE_USER            the user site devices log in with; its password is generated in SITE_DIR/secrets/site.password
#   PLATFORM_MQTT        host:port of the platform's endpoint
#   GATEWAY_ID           the gateway credential the bridge logs in with (issued with `hohhot gateway issue`)
#   GATEWAY_SECRET_FILE  a file holding that credential's secret
#   PLATFORM_CA          optional: the platform's CA (PEM); the bridge then uses TLS and checks the certificate
# The site broker keeps messages through a kill -9 (autosave_interval 1 + autosave_on_changes); it is one process
# of this script's, stopped by its PID.
set -euo pipefail

# shellcheck source=deploy/servers-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-common.sh"

usage() { echo "usage: $SCRIPT_NAME start|stop|kill|status SITE_DIR" >&2; exit 2; }
[[ $# -eq 2 ]] || usage
command=$1
SITE_DIR="$(realpath -m -- "$2")"
SITE_CONF="$SITE_DIR/mosquitto.conf"
SITE_PID_FILE="$SITE_DIR/mosquitto.pid"
SITE_LOG="$SITE_DIR/mosquitto.log"
SITE_NEEDLE="-c $SITE_CONF"

site_start() {
    require_root
    mkdir -p "$SITE_DIR/data" "$SITE_DIR/secrets"
    chmod 0700 "$SITE_DIR/secrets"
    if [[ -s $SITE_DIR/site.env ]]; then
        # shellcheck disable=SC1091
        source "$SITE_DIR/site.env"
    else
        : "${SITE_PORT:?}" "${SITE_USER:?}" "${PLATFORM_MQTT:?}" "${GATEWAY_ID:?}" "${GATEWAY_SECRET_FILE:?}"
        printf 'SITE_PORT=%q\nSITE_USER=%q\nPLATFORM_MQTT=%q\nGATEWAY_ID=%q\nGATEWAY_SECRET_FILE=%q\nPLATFORM_CA=%q\n' \
            "$SITE_PORT" "$SITE_USER" "$PLATFORM_MQTT" "$GATEWAY_ID" "$GATEWAY_SECRET_FILE" "${PLATFORM_CA:-}" > "$SITE_DIR/site.env"
    fi
    [[ -s $GATEWAY_SECRET_FILE ]] || die "no gateway secret in $GATEWAY_SECRET_FILE"
    local secret site_password tls="" pid
    secret="$(tr -d '\n' < "$GATEWAY_SECRET_FILE")"
    if [[ ! -s $SITE_DIR/secrets/site.password ]]; then
        (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$SITE_DIR/secrets/site.password")
    fi
    site_password="$(cat "$SITE_DIR/secrets/site.password")"
    rm -f "$SITE_DIR/passwd"
    mosquitto_passwd -c -b "$SITE_DIR/passwd" "$SITE_USER" "$site_password"
    if [[ -n ${PLATFORM_CA:-} ]]; then
        # A copy the broker can read once it has dropped privileges (the platform's TLS folder need not be readable to it).
        install -m 0644 "$PLATFORM_CA" "$SITE_DIR/platform-ca.pem"
        tls="bridge_cafile $SITE_DIR/platform-ca.pem
bridge_insecure false"
    fi
    (umask 077; cat > "$SITE_CONF" <<CONF
# Managed by deploy/site-bridge.sh - rewritten on every start.
per_listener_settings false
listener $SITE_PORT 127.0.0.1
allow_anonymous false
password_file $SITE_DIR/passwd
persistence true
persistence_location $SITE_DIR/data/
autosave_interval 1
autosave_on_changes true
max_packet_size 65536
max_queued_messages 0
max_queued_bytes 536870912
log_dest file $SITE_LOG
log_type error
log_type warning
log_type notice
log_timestamp_format %Y-%m-%dT%H:%M:%S

connection platform
address $PLATFORM_MQTT
bridge_protocol_version mqttv50
remote_clientid site-$GATEWAY_ID
remote_username $GATEWAY_ID
remote_password $secret
cleansession false
local_cleansession false
try_private false
bridge_attempt_unsubscribe false
notifications false
restart_timeout 1 10
keepalive_interval 15
topic hohhot/v1/# out 1
$tls
CONF
)
    chown -R mosquitto:mosquitto "$SITE_DIR"
    chmod 0750 "$SITE_DIR" "$SITE_DIR/data"
    ensure_traversable mosquitto "$SITE_DIR"
    if pid="$(daemon_pid "$SITE_PID_FILE" "$SITE_NEEDLE")"; then
        log "site: already running (pid $pid)"; return 0
    fi
    port_open "$SITE_PORT" && die "site: port 127.0.0.1:$SITE_PORT is already in use"
    setsid mosquitto -c "$SITE_CONF" </dev/null >>"$SITE_DIR/console.log" 2>&1 9>&- &
    pid=$!
    echo "$pid" > "$SITE_PID_FILE"
    local deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$SITE_PORT"; do
        daemon_starting "$pid" "$SITE_NEEDLE" || { tail_logs "$SITE_DIR/console.log" "$SITE_LOG"; die "site: mosquitto exited during startup"; }
        (( SECONDS < deadline )) || die "site: not listening on 127.0.0.1:$SITE_PORT after ${START_TIMEOUT}s"
        sleep 0.2
    done
    log "site: broker on 127.0.0.1:$SITE_PORT (pid $pid), bridged to $PLATFORM_MQTT as '$GATEWAY_ID'; devices log in as '$SITE_USER' with $SITE_DIR/secrets/site.password"
}

case $command in
    start) site_start ;;
    stop) require_root; stop_daemon site "$SITE_PID_FILE" "$SITE_NEEDLE" ;;
    kill) require_root; kill_daemon site "$SITE_PID_FILE" "$SITE_NEEDLE" ;;
    status) if pid="$(daemon_pid "$SITE_PID_FILE" "$SITE_NEEDLE")"; then echo "site: running (pid $pid)"; else echo "site: not running"; exit 3; fi ;;
    *) usage ;;
esac
