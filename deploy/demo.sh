#!/usr/bin/env bash
# The main job on one machine: installs what is missing, starts PostgreSQL, InfluxDB and Mosquitto on
# loopback (data under .data/demo), builds and starts the platform, feeds it the demo fleet's yesterday (a simulated
# day, its gateways publishing to the platform's own MQTT endpoint as fast as it acknowledges), verifies it, shows
# the numbers, traces a product lot back and the day's failing sample forward to a recall (ids the simulator printed),
# and bridges one pasture's own Mosquitto (a site broker) to the platform.
# The API and the MQTT endpoint serve TLS with a private CA made at first start (deploy/certs.sh); every secret (PostgreSQL, MQTT, the
# token signing key, the first operator's password, the demo accounts' passwords) is generated at first start
# under $HOHHOT_DATA_DIR/secrets. It creates one organisation and account per kind (pasture operator, processor,
# regulator, platform operator) and prints how to log in as each.
# The platform keeps running; `deploy/demo.sh stop` stops it and the servers.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export HOHHOT_DATA_DIR="${HOHHOT_DATA_DIR:-$repo/.data/demo}"
export HOHHOT_API="${HOHHOT_API:-https://127.0.0.1:15080}"
mqtt_endpoint="${HOHHOT_DEMO_MQTT:-127.0.0.1:18884}"   # the platform's MQTT endpoint (mqtts)
site_port="${HOHHOT_DEMO_SITE_PORT:-18885}"          # the demo site broker, bridged to the endpoint
site_dir="$HOHHOT_DATA_DIR/site"
tls_dir="$HOHHOT_DATA_DIR/tls"
export HOHHOT_CA="$tls_dir/ca.pem"
pid_file="$HOHHOT_DATA_DIR/run/platform.pid"
log_file="$HOHHOT_DATA_DIR/platform.log"
sim=(dotnet "$repo/firmware-sim/HohhotCluster.FirmwareSim/bin/Debug/net10.0/hohhot-sim.dll")
profile="${HOHHOT_DEMO_PROFILE:-demo}"
seed="${HOHHOT_DEMO_SEED:-1}"

platform_running() { [[ -f $pid_file ]] && kill -0 "$(cat "$pid_file")" 2>/dev/null; }

# The web dashboard (hohhot-dashboard): HTTPS with the platform's certificate, calling the API as the signed-in user.
dashboard_url="${HOHHOT_DASHBOARD_URL:-https://127.0.0.1:19280}"
dashboard_pid_file="$HOHHOT_DATA_DIR/run/dashboard.pid"
dashboard_log="$HOHHOT_DATA_DIR/dashboard.log"
dashboard_running() { [[ -f $dashboard_pid_file ]] && kill -0 "$(cat "$dashboard_pid_file")" 2>/dev/null; }
stop_dashboard() {
    if dashboard_running; then
        local pid; pid="$(cat "$dashboard_pid_file")"
        echo "stopping the dashboard (pid $pid)"
        kill -TERM "$pid"
        for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
    fi
    rm -f "$dashboard_pid_file"
}

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
    [[ -f $site_dir/site.env ]] && bash deploy/site-bridge.sh stop "$site_dir"
    stop_dashboard
    stop_platform
    bash deploy/servers.sh stop
    exit 0
fi

command -v dotnet >/dev/null || { echo "the .NET 10 SDK (dotnet) is required" >&2; exit 1; }
bash deploy/servers.sh start
eval "$(bash deploy/servers.sh env)"
bash deploy/certs.sh "$tls_dir" >/dev/null
secret() { # a generated secret of this instance (deploy/servers-common.sh's instance_secret)
    (source deploy/servers-common.sh; instance_secret "$1")
}
operator_password_file="$HOHHOT_SECRETS_DIR/operator.password"
secret operator.password >/dev/null

if [[ ${HOHHOT_DEMO_BUILD:-1} == 1 ]]; then
    echo "building the platform, the CLI and the simulator"
    dotnet build HohhotCluster.Telemetry.sln -nologo -v quiet
else
    echo "HOHHOT_DEMO_BUILD=0: using the platform, CLI and simulator already built"
fi

# The demo starts from empty demo databases each time, so that the verify below compares this run's ledger
# with exactly this run's data (HOHHOT_DEMO_KEEP_DATA=1 keeps what an earlier run left).
if [[ ${HOHHOT_DEMO_KEEP_DATA:-0} != 1 ]]; then
    stop_dashboard
    stop_platform
    echo "resetting the demo databases (PostgreSQL 'hohhot', InfluxDB '$HOHHOT_INFLUX_DATABASE')"
    PGPASSWORD="$HOHHOT_PG_PASSWORD" psql -q -h 127.0.0.1 -p "$HOHHOT_PG_PORT" -U hohhot -d postgres \
        -c "drop database if exists hohhot" -c "create database hohhot" >/dev/null
    curl -sf -XPOST "$HOHHOT_INFLUX_URL/query" --data-urlencode "q=DROP DATABASE \"$HOHHOT_INFLUX_DATABASE\"" >/dev/null
    curl -sf -XPOST "$HOHHOT_INFLUX_URL/query" --data-urlencode "q=CREATE DATABASE \"$HOHHOT_INFLUX_DATABASE\"" >/dev/null
fi

if ! platform_running; then
    echo "starting the platform (log: $log_file)"
    Postgres__ConnectionString="$HOHHOT_PG_CONNECTION;Maximum Pool Size=50" \
    Influx__Url="$HOHHOT_INFLUX_URL" Influx__Database="$HOHHOT_INFLUX_DATABASE" \
    MqttEndpoint__Url="mqtts://$mqtt_endpoint" \
    Platform__ApiUrl="$HOHHOT_API" \
    Platform__TlsCertificateFile="$tls_dir/server.pem" Platform__TlsKeyFile="$tls_dir/server.key" \
    Identity__SigningKeyFile="$HOHHOT_SECRETS_DIR/token-signing-key.pem" \
    Identity__BootstrapOperatorPasswordFile="$operator_password_file" \
        setsid dotnet src/HohhotCluster.Telemetry.Host/bin/Debug/net10.0/hohhot-platform.dll >>"$log_file" 2>&1 < /dev/null &
    echo $! > "$pid_file"
fi
for _ in $(seq 1 120); do
    deploy/hohhot health >/dev/null 2>&1 && break
    platform_running || { tail -n 40 "$log_file"; echo "the platform exited" >&2; exit 1; }
    sleep 0.5
done
deploy/hohhot health

# The operator logs in (the CLI keeps the token in ~/.config/hohhot/token); the simulator logs in by itself.
HOHHOT_PASSWORD="$(cat "$operator_password_file")" deploy/hohhot login --user operator
export HOHHOT_USER=operator
HOHHOT_PASSWORD="$(cat "$operator_password_file")"; export HOHHOT_PASSWORD

echo "registering the '$profile' fleet and issuing its gateways' credentials"
work="$HOHHOT_DATA_DIR/sim"; mkdir -p "$work"
"${sim[@]}" profile show "$profile"
"${sim[@]}" register --profile "$profile" --seed "$seed" --api "$HOHHOT_API"

yesterday="$(TZ=Asia/Shanghai date -d yesterday +%F)"
# The simulator appends to its ledger; verify compares the ledger with the platform, so a fresh platform gets a
# fresh ledger (and no spool left by an earlier run).
[[ ${HOHHOT_DEMO_KEEP_DATA:-0} == 1 ]] || rm -rf "$work/ledger.jsonl" "$work/spool"
echo "publishing the fleet's $yesterday (China Standard Time) to the platform's MQTT endpoint (mqtts://$mqtt_endpoint)"
# The day before it is simulated too and not published (the profile's warm-up), so tanks, tankers and silos carry
# milk over into the demo day as on any day; --record keeps the run for `hohhot-sim chain` below.
"${sim[@]}" run --profile "$profile" --seed "$seed" --start "${yesterday}T00:00:00+08:00" --duration 1d \
    --boot-epoch now --mqtt "$mqtt_endpoint" --mqtt-ca "$HOHHOT_CA" --ledger "$work/ledger.jsonl" --spool "$work/spool" \
    --record "$work/run.bin"

echo "checking the platform against the simulator's ledger"
verified=0
for _ in $(seq 1 30); do
    if "${sim[@]}" verify --ledger "$work/ledger.jsonl" --api "$HOHHOT_API" --influx "$HOHHOT_INFLUX_URL" --db "$HOHHOT_INFLUX_DATABASE" \
        --profile "$profile" > "$work/verify.txt" 2>&1; then
        verified=1; break
    fi
    sleep 2
done
cat "$work/verify.txt"
[[ $verified == 1 ]] || echo "verify still reports differences (see above)" >&2

echo "creating an organisation and an account per kind of organisation"
pastures="$(deploy/hohhot registry list pastures --ids --page-size 1000 | paste -sd, -)"
plants="$(deploy/hohhot registry list plants --ids --page-size 1000 | paste -sd, -)"
accounts="$HOHHOT_SECRETS_DIR/demo-accounts.txt"
: > "$accounts"; chmod 0600 "$accounts"
demo_account() { # org kind name holdings-option holdings user role
    local org=$1 kind=$2 name=$3 user=$6 role=$7 password
    if [[ -n $4 ]]; then
        deploy/hohhot org create --id "$org" --kind "$kind" --name "$name" "$4" "$5" >/dev/null
    else
        deploy/hohhot org create --id "$org" --kind "$kind" --name "$name" --city-wide >/dev/null
    fi
    password="$(secret "demo-$user.password")"
    printf '%s' "$password" > "$work/password.tmp"
    deploy/hohhot user create --org "$org" --id "$user" --role "$role" --password-file "$work/password.tmp" >/dev/null
    rm -f "$work/password.tmp"
    printf '%-16s %-18s %-7s %s\n' "$user" "$org" "$role" "$password" >> "$accounts"
}
demo_account demo-pastures pasture_operator "Demo pastures (牧场)" --pastures "$pastures" pasture-admin admin
demo_account demo-dairy processor "Demo dairy (乳品企业)" --plants "$plants" dairy-editor editor
demo_account hohhot-amr regulator "Hohhot market supervision (呼和浩特市市场监督管理局)" "" "" regulator editor
printf '%-16s %-18s %-7s %s\n' operator platform admin "$(cat "$operator_password_file")" >> "$accounts"

# A pasture with its own broker: its Mosquitto bridges to the endpoint with a gateway credential of its own, and a
# device on site publishes to it (its PUBACK is the site's; the platform's PUBACK lets the site broker forget it).
site_pasture="${pastures%%,*}"
site_gateway="site-$site_pasture"
if [[ ! -s $HOHHOT_SECRETS_DIR/$site_gateway.secret ]]; then
    deploy/hohhot gateway issue "$site_gateway" --pasture "$site_pasture" --out "$HOHHOT_SECRETS_DIR/$site_gateway.secret" >/dev/null
fi
SITE_PORT="$site_port" SITE_USER=site-devices PLATFORM_MQTT="$mqtt_endpoint" GATEWAY_ID="$site_gateway" \
    GATEWAY_SECRET_FILE="$HOHHOT_SECRETS_DIR/$site_gateway.secret" PLATFORM_CA="$HOHHOT_CA" \
    bash deploy/site-bridge.sh start "$site_dir"
site_tank="$(deploy/hohhot registry list devices --parent "$site_pasture" --ids --page-size 1000 | grep -- '-BT' | head -n 1 || true)"
if [[ -n $site_tank ]]; then
    boot="$(date +%s)"
    mosquitto_pub -h 127.0.0.1 -p "$site_port" -u site-devices -P "$(cat "$site_dir/secrets/site.password")" -q 1 \
        -t "hohhot/v1/pasture/$site_pasture/$site_tank/bulk_tank" \
        -m "{\"deviceId\":\"$site_tank\",\"bootEpoch\":$boot,\"seq\":1,\"eventTime\":\"$(date -u +%FT%TZ)\",\"tankId\":\"T1\",\"event\":\"level\",\"volumeL\":8200,\"temperatureC\":3.6}"
    echo "a tank level of $site_tank went through the site broker on 127.0.0.1:$site_port and its bridge"
fi

if ! dashboard_running; then
    echo "starting the dashboard at $dashboard_url (log: $dashboard_log)"
    mkdir -p "$HOHHOT_DATA_DIR/run"
    Dashboard__Url="$dashboard_url" Dashboard__ApiUrl="$HOHHOT_API" Dashboard__ApiCaFile="$HOHHOT_CA" \
    Dashboard__TlsCertificateFile="$tls_dir/server.pem" Dashboard__TlsKeyFile="$tls_dir/server.key" \
    Dashboard__DataProtectionKeysDir="$HOHHOT_SECRETS_DIR/dashboard-keys" \
        setsid dotnet src/HohhotCluster.Telemetry.Dashboard/bin/Debug/net10.0/hohhot-dashboard.dll >>"$dashboard_log" 2>&1 < /dev/null &
    echo $! > "$dashboard_pid_file"
fi
for _ in $(seq 1 120); do
    curl -sf --cacert "$HOHHOT_CA" -o /dev/null "$dashboard_url/login" && break
    dashboard_running || { tail -n 40 "$dashboard_log"; echo "the dashboard exited" >&2; break; }
    sleep 0.5
done

echo
deploy/hohhot throughput --date "$yesterday" --scope city

# The chain: the day's failing sample (the profile's one incident) and a product lot made from that lot's milk, as
# the simulator made them; the platform traces the product lot back to its pastures and the sample forward to the
# product lots a recall must hold.
"${sim[@]}" chain --file "$work/run.bin" > "$work/chain.txt"
incident_sample="$(awk '$1 == "failing-sample" { print $2; exit }' "$work/chain.txt")"
traced_lot="$(awk '$1 == "product-lot" { print $2; exit }' "$work/chain.txt")"
echo
echo "the demo day's chain (hohhot-sim chain --file $work/run.bin):"
sed 's/^/  /' "$work/chain.txt"
if [[ -n $traced_lot ]]; then
    echo
    echo "\$ deploy/hohhot trace back --lot $traced_lot"
    deploy/hohhot trace back --lot "$traced_lot" | tee "$work/trace-back.json" || echo "trace back failed (see above)" >&2
fi
if [[ -n $incident_sample ]]; then
    echo
    echo "\$ deploy/hohhot trace recall --sample $incident_sample"
    deploy/hohhot trace recall --sample "$incident_sample" | tee "$work/recall.json" || echo "recall failed (see above)" >&2
fi
cat <<MSG

The dashboard: open $dashboard_url (its certificate is from the demo's CA, $HOHHOT_CA: trust it or accept the
browser's warning), log in with one of the accounts below, e.g. the regulator, and see yesterday ($yesterday)
at $dashboard_url/city?date=$yesterday, the trace of ${traced_lot:-a product lot} at
$dashboard_url/trace?what=product&id=${traced_lot:-PRODUCT_LOT}, and the day's alerts at $dashboard_url/alerts.
The platform is running (gRPC over TLS at $HOHHOT_API, MQTT over TLS at mqtts://$mqtt_endpoint, CA $HOHHOT_CA,
pid $(cat "$pid_file"), log $log_file). A site broker bridged to it (pasture $site_pasture) listens on
127.0.0.1:$site_port for devices (user site-devices, password in $site_dir/secrets/site.password).
The CLI is logged in as the platform operator (a token lasts 15 minutes; log in again when it has expired).
Accounts, one per kind of organisation (user, organisation, role, password; also in $accounts):
$(sed 's/^/  /' "$accounts")
Log in as one of them (the password on standard input, from a file with --password-file, or in \$HOHHOT_PASSWORD):
  deploy/hohhot login --user pasture-admin
  deploy/hohhot whoami
Try:
  deploy/hohhot trace back --lot ${traced_lot:-PRODUCT_LOT}      # the product lot's pastures, tanker loads and silo batch
  deploy/hohhot trace recall --sample ${incident_sample:-SAMPLE}   # the product lots the failing sample's milk reached
  deploy/hohhot throughput --date $yesterday --scope county --id 150121
  deploy/hohhot throughput --scope city --json          # today, live (the city: operator and regulator)
  deploy/hohhot registry list pastures
  deploy/hohhot gateway list                           # the gateways' MQTT credentials (never their secrets)
  deploy/hohhot access-log --limit 20                  # operator and regulator
  deploy/hohhot health
Stop everything (the dashboard too, pid $(cat "$dashboard_pid_file" 2>/dev/null || echo '?')) with: deploy/demo.sh stop
MSG
