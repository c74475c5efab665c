#!/usr/bin/env bash
# Add or update an MQTT user of ONE hohhot broker instance (same HOHHOT_DATA_DIR / HOHHOT_MQTT_PORT
# environment as deploy/servers.sh) and make the running mosquitto reload its password file.
#
# Usage: deploy/broker-user.sh add NAME PASSWORD
#
# Gateway users may only publish below hohhot/v1/pasture/NAME/# and hohhot/v1/plant/NAME/#
# (pattern rules in deploy/mosquitto/acl.conf), so NAME is the gateway's owner id.
# After SIGHUP the script waits until the broker accepts NAME/PASSWORD (max 10 s), so the
# new user can connect as soon as this script returns.
set -euo pipefail

# shellcheck source=deploy/servers-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-common.sh"

usage() { echo "usage: $SCRIPT_NAME add NAME PASSWORD   (instance: HOHHOT_DATA_DIR=$DATA_DIR)" >&2; exit 2; }

[[ $# -eq 3 && $1 == add ]] || usage
name=$2
password=$3

require_root
# ':' separates user and hash in the password file; '/', '+', '#' would break (or be refused in)
# the %u topic patterns; keep names to a conservative character set.
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ ]] \
    || die "invalid user name '$name' (allowed: letters, digits, '.', '_', '-'; max 128 chars)"
[[ -n $password ]] || die "empty password"
[[ $password != *$'\n'* ]] || die "password must not contain a newline"
[[ -d $MQ_DIR && -s $MQ_PASSWD ]] \
    || die "no broker instance initialised in $DATA_DIR (run deploy/servers.sh start first)"

mq_passwd_set "$name" "$password"
log "mqtt: user '$name' written to $MQ_PASSWD"

if ! pid="$(mq_pid)"; then
    log "mqtt: broker of $DATA_DIR is not running - the user will be active on its next start"
    exit 0
fi

kill -HUP "$pid"
log "mqtt: sent SIGHUP to mosquitto pid $pid"

# SIGHUP is handled asynchronously by mosquitto's main loop: wait until the credentials work.
# -E: exit as soon as the (harmless) subscription is acknowledged; a refused CONNECT fails fast.
deadline=$((SECONDS + 10))
until mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -u "$name" -P "$password" \
        -i "hohhot-user-check-$$" -t "hohhot/v1/user-check/$name" -E -W 3 >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then
        tail_logs "$MQ_LOG"
        die "mqtt: broker did not accept the new credentials of '$name' after reload"
    fi
    sleep 0.2
done
log "mqtt: broker reloaded, '$name' can connect"
