#!/usr/bin/env bash
# Backup and restore of ONE hohhot instance (the same HOHHOT_DATA_DIR / port environment as deploy/servers.sh):
# PostgreSQL by `pg_dump -Fc` and InfluxDB by `influxd backup -portable` over its RPC bind address, into a dated
# folder with a manifest (what, when, sizes, checksums, the platform's schema version); restored with `pg_restore`
# and `influxd restore -portable` into an instance whose platform is stopped, or a fresh one.
#
# Usage: deploy/backup.sh backup  [--database NAME] [--to DIR]
#        deploy/backup.sh restore FOLDER [--database NAME] [--force]
#        deploy/backup.sh verify  FOLDER
#
#   backup   both stores of database NAME (default hohhot, the instance's) while they run; the platform may keep
#            running (pg_dump reads one consistent snapshot; InfluxDB's portable backup copies closed shard files and
#            a snapshot of the open ones). Writes DIR/hohhot-<UTC time>-NAME/ (DIR default $HOHHOT_DATA_DIR/backups)
#            and prints that folder's path as its last line.
#   restore  checks the folder's checksums, starts the instance's PostgreSQL and InfluxDB if they are stopped
#            (a fresh HOHHOT_DATA_DIR is initialised by deploy/servers.sh), and restores into database NAME
#            (default hohhot). Refuses when a client is connected to that PostgreSQL database (a platform running on
#            it) or when either database already holds data; --force disconnects those clients and replaces the data.
#   verify   only checks the folder's checksums and prints its manifest.
#
# Why pg_dump -Fc and not pg_basebackup: the platform is one database of the server (tests and the demo keep several
# databases in one server); a dump restores into any server of this major version or newer, under the target
# instance's own role and password, without stopping it; its size is the data, not the cluster with its WAL; and
# pg_restore checks the archive's table of contents before it writes. A base backup would copy the whole cluster
# and be worth it only with WAL archiving for point-in-time recovery, which the platform does not set up.
#
# Must run as root (pg_dump/pg_restore run as postgres with runuser, over the instance's unix socket).
set -euo pipefail

# shellcheck source=deploy/servers-common.sh
source "$(dirname "${BASH_SOURCE[0]}")/servers-common.sh"

BACKUP_FORMAT=1
PG_BIN=""

usage() {
    cat >&2 <<EOF
usage: $SCRIPT_NAME backup  [--database NAME] [--to DIR]
       $SCRIPT_NAME restore FOLDER [--database NAME] [--force]
       $SCRIPT_NAME verify  FOLDER
instance: HOHHOT_DATA_DIR=$DATA_DIR pg=$PG_PORT influx=$INFLUX_PORT influx-rpc=$INFLUX_RPC_PORT
EOF
    exit 2
}

find_pg_bin() {
    PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    [[ -n $PG_BIN && -x $PG_BIN/pg_dump && -x $PG_BIN/pg_restore && -x $PG_BIN/psql ]] \
        || die "PostgreSQL client programs not found under /usr/lib/postgresql/*/bin (deploy/servers.sh start installs them)"
}

prerequisites() {
    require_root
    find_pg_bin
    local c
    for c in influxd curl python3 sha256sum; do
        command -v "$c" >/dev/null 2>&1 || die "$c not found (deploy/servers.sh start installs the servers' packages)"
    done
}

as_pg() { (cd / && runuser -u postgres -- "$@"); }

psql_db() {
    local db=$1; shift
    as_pg "$PG_BIN/psql" -h "$DATA_DIR/pg-run" -p "$PG_PORT" -U postgres -d "$db" -v ON_ERROR_STOP=1 -qAtX "$@"
}

pg_up() { "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 2; }
influx_up() { curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:$INFLUX_PORT/ping"; }

influx_ql() {
    curl -sf --max-time 60 -XPOST "http://127.0.0.1:$INFLUX_PORT/query" --data-urlencode "q=$1" \
        || die "influx: '$1' failed on 127.0.0.1:$INFLUX_PORT"
}

influx_has_db() {
    local dbs
    dbs="$(influx_ql "SHOW DATABASES")"
    [[ $dbs == *"[\"$1\"]"* ]]
}

check_name() {
    [[ $1 =~ ^[A-Za-z_][A-Za-z0-9_]{0,62}$ ]] || die "database name '$1' must be letters, digits and _ (at most 63)"
}

# The schema version the platform's migrator recorded: "<latest version>|<latest name>|<count>", or "0||0".
schema_version() {
    local db=$1
    if [[ "$(psql_db "$db" -c "select to_regclass('public.schema_migration') is not null")" != t ]]; then
        echo "0||0"; return 0
    fi
    psql_db "$db" -c "select coalesce(max(version), 0), coalesce((select name from schema_migration order by version desc limit 1), ''), count(*) from schema_migration" \
        | tr -d '\n'
}

# ---------------------------------------------------------------------------------------------
# backup
# ---------------------------------------------------------------------------------------------

backup() {
    local db=$PG_DATABASE to="$DATA_DIR/backups"
    while (( $# > 0 )); do
        case $1 in
            --database) [[ $# -ge 2 ]] || usage; db=$2; shift 2 ;;
            --to)       [[ $# -ge 2 ]] || usage; to=$2; shift 2 ;;
            *) usage ;;
        esac
    done
    check_name "$db"
    prerequisites
    pg_up || die "pg: not accepting connections on 127.0.0.1:$PG_PORT - a backup is taken from the running servers (deploy/servers.sh start)"
    influx_up || die "influx: no answer on 127.0.0.1:$INFLUX_PORT - a backup is taken from the running servers (deploy/servers.sh start)"
    [[ "$(psql_db postgres -c "select 1 from pg_database where datname = '$db'")" == 1 ]] || die "pg: no database '$db' on 127.0.0.1:$PG_PORT"
    influx_has_db "$db" || die "influx: no database '$db' on 127.0.0.1:$INFLUX_PORT"

    local started stamp final partial schema
    started="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    mkdir -p "$to"
    to="$(realpath -- "$to")"
    final="$to/hohhot-$stamp-$db"
    partial="$final.partial"
    [[ -e $final ]] && die "$final already exists"
    rm -rf -- "$partial"
    mkdir -m 0700 "$partial"

    schema="$(schema_version "$db")"
    psql_db "$db" -c "select version || '  ' || name || '  ' || coalesce(checksum, '-') from schema_migration order by version" \
        > "$partial/schema-migrations.txt" 2>/dev/null || : > "$partial/schema-migrations.txt"

    log "pg: pg_dump -Fc of '$db' (127.0.0.1:$PG_PORT)"
    as_pg "$PG_BIN/pg_dump" -h "$DATA_DIR/pg-run" -p "$PG_PORT" -U postgres -d "$db" -Fc -Z 6 > "$partial/postgres.dump" \
        || die "pg: pg_dump of '$db' failed"
    # The archive's table of contents must read back: a truncated dump fails here, not at restore.
    "$PG_BIN/pg_restore" -l "$partial/postgres.dump" > "$partial/postgres.toc" || die "pg: the dump just written does not read back"

    log "influx: influxd backup -portable of '$db' (rpc 127.0.0.1:$INFLUX_RPC_PORT)"
    influxd backup -portable -host "127.0.0.1:$INFLUX_RPC_PORT" -db "$db" "$partial/influxdb" > "$partial/influxdb-backup.log" 2>&1 \
        || { tail_logs "$partial/influxdb-backup.log"; die "influx: backup of '$db' failed"; }
    ls "$partial"/influxdb/*.manifest >/dev/null 2>&1 || die "influx: the backup wrote no manifest ($partial/influxdb)"

    local pg_version influx_version commit
    pg_version="$(psql_db postgres -c "show server_version")"
    influx_version="$(influxd version 2>/dev/null | head -n 1)"
    commit="$(git -C "$HOHHOT_REPO_DIR" rev-parse HEAD 2>/dev/null || echo unknown)"
    BACKUP_DIR="$partial" DB="$db" STARTED="$started" SCHEMA="$schema" PG_VERSION="$pg_version" \
        INFLUX_VERSION="$influx_version" COMMIT="$commit" SOURCE_DATA_DIR="$DATA_DIR" SOURCE_PG_PORT="$PG_PORT" \
        SOURCE_INFLUX_RPC_PORT="$INFLUX_RPC_PORT" FORMAT="$BACKUP_FORMAT" python3 - <<'PY'
import hashlib, json, os, datetime
root = os.environ["BACKUP_DIR"]
def digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
def entry(rel):
    path = os.path.join(root, rel)
    return {"path": rel, "bytes": os.path.getsize(path), "sha256": digest(path)}
influx = sorted(os.path.join("influxdb", n) for n in os.listdir(os.path.join(root, "influxdb")))
# A database without a shard (no point yet) has only its meta data: influxd restore -portable refuses such a backup
# ("DB metadata not changed"), so restore creates the database instead.
shards = 0
for n in influx:
    if n.endswith(".manifest"):
        with open(os.path.join(root, n)) as f:
            shards += len(json.load(f).get("files") or [])
latest, name, count = (os.environ["SCHEMA"].split("|") + ["", "", ""])[:3]
manifest = {
    "format": int(os.environ["FORMAT"]),
    "what": "hohhot platform backup: PostgreSQL (pg_dump -Fc) and InfluxDB (influxd backup -portable)",
    "started_at": os.environ["STARTED"],
    "finished_at": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "source": {"data_dir": os.environ["SOURCE_DATA_DIR"], "pg_port": int(os.environ["SOURCE_PG_PORT"]),
               "influx_rpc_port": int(os.environ["SOURCE_INFLUX_RPC_PORT"]), "platform_commit": os.environ["COMMIT"]},
    "schema": {"latest_version": int(latest or 0), "latest_name": name, "applied_migrations": int(count or 0),
               "list": "schema-migrations.txt"},
    "postgres": {"database": os.environ["DB"], "server_version": os.environ["PG_VERSION"], "format": "custom",
                 "file": entry("postgres.dump")},
    "influxdb": {"database": os.environ["DB"], "version": os.environ["INFLUX_VERSION"], "format": "portable",
                 "shard_files": shards, "files": [entry(p) for p in influx]},
}
manifest["total_bytes"] = manifest["postgres"]["file"]["bytes"] + sum(f["bytes"] for f in manifest["influxdb"]["files"])
with open(os.path.join(root, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
    (cd "$partial" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum > SHA256SUMS)
    chmod -R go-rwx "$partial"
    mv -- "$partial" "$final"
    log "backup of '$db' in $final ($(du -sh "$final" | cut -f1), schema version ${schema%%|*})"
    echo "$final"
}

# ---------------------------------------------------------------------------------------------
# verify / restore
# ---------------------------------------------------------------------------------------------

# manifest_get FOLDER python-expression-on-m
manifest_get() {
    python3 -c 'import json, sys; m = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1/manifest.json" "$2"
}

verify() {
    local folder=${1:-}
    [[ -n $folder && -d $folder ]] || die "no backup folder '$folder'"
    [[ -f $folder/manifest.json && -f $folder/SHA256SUMS ]] || die "$folder has no manifest.json and SHA256SUMS: not a finished backup"
    (cd "$folder" && sha256sum --quiet --strict -c SHA256SUMS) || die "$folder: checksums do not match SHA256SUMS - the backup is damaged"
    local listed
    listed="$(cd "$folder" && find . -type f ! -name SHA256SUMS -printf '%P\n' | LC_ALL=C sort)"
    [[ "$listed" == "$(awk '{ sub(/^[^ ]+  /, ""); print }' "$folder/SHA256SUMS" | LC_ALL=C sort)" ]] \
        || die "$folder: files differ from those SHA256SUMS lists"
    [[ "$(manifest_get "$folder" 'm["format"]')" == "$BACKUP_FORMAT" ]] || die "$folder: manifest format is not $BACKUP_FORMAT"
}

restore() {
    local folder=${1:-} db=$PG_DATABASE force=0
    [[ $# -ge 1 ]] || usage
    shift
    while (( $# > 0 )); do
        case $1 in
            --database) [[ $# -ge 2 ]] || usage; db=$2; shift 2 ;;
            --force)    force=1; shift ;;
            *) usage ;;
        esac
    done
    check_name "$db"
    prerequisites
    folder="$(realpath -- "$folder")"
    verify "$folder"
    local source_db
    source_db="$(manifest_get "$folder" 'm["postgres"]["database"]')"
    check_name "$source_db"

    # A stopped or fresh instance: its servers are started by the project's script (a fresh one is initialised).
    if ! pg_up; then "$DEPLOY_DIR/servers.sh" start-one pg; fi
    if ! influx_up; then "$DEPLOY_DIR/servers.sh" start-one influx; fi

    # Refuse to overwrite a database in use or holding data, unless told.
    local clients tables measurements
    if [[ "$(psql_db postgres -c "select 1 from pg_database where datname = '$db'")" == 1 ]]; then
        clients="$(psql_db postgres -c "select count(*) from pg_stat_activity where datname = '$db' and pid <> pg_backend_pid()")"
        tables="$(psql_db "$db" -c "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where c.relkind in ('r', 'p') and n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg_toast%'")"
    else
        clients=0 tables=0
    fi
    measurements=0
    if influx_has_db "$db"; then
        measurements="$(influx_ql "SHOW MEASUREMENTS ON \"$db\"" | python3 -c 'import json, sys; r = json.load(sys.stdin)["results"][0]; print(len(r.get("series", [{}])[0].get("values", [])) if "series" in r else 0)')"
    fi
    if (( force == 0 )); then
        (( clients == 0 )) || die "pg: $clients client(s) are connected to '$db' on 127.0.0.1:$PG_PORT (a platform running on it?) - stop the platform first, or pass --force to disconnect them"
        (( tables == 0 )) || die "pg: '$db' on 127.0.0.1:$PG_PORT already holds $tables table(s) - refusing to overwrite it without --force"
        (( measurements == 0 )) || die "influx: '$db' on 127.0.0.1:$INFLUX_PORT already holds $measurements measurement(s) - refusing to overwrite it without --force"
    fi

    log "pg: recreating '$db' on 127.0.0.1:$PG_PORT and restoring $(manifest_get "$folder" 'm["postgres"]["file"]["bytes"]') bytes of dump"
    psql_db postgres -c "drop database if exists \"$db\" with (force)"
    psql_db postgres -c "create database \"$db\" owner \"$PG_USER\""
    # Objects are created as the instance's own role (its password is this instance's), in one transaction.
    as_pg "$PG_BIN/pg_restore" -h "$DATA_DIR/pg-run" -p "$PG_PORT" -U postgres -d "$db" --no-owner --no-acl --role="$PG_USER" \
        --exit-on-error --single-transaction < "$folder/postgres.dump" || die "pg: pg_restore into '$db' failed (the database is left empty)"

    log "influx: restoring '$source_db' as '$db' (rpc 127.0.0.1:$INFLUX_RPC_PORT)"
    # influxd restore -portable creates the database itself and refuses an existing one.
    influx_ql "DROP DATABASE \"$db\"" >/dev/null
    if [[ "$(manifest_get "$folder" 'm["influxdb"]["shard_files"]')" == 0 ]]; then
        # No point was backed up (see backup): an empty database; the platform creates its retention policies at start.
        influx_ql "CREATE DATABASE \"$db\"" >/dev/null
    else
        influxd restore -portable -host "127.0.0.1:$INFLUX_RPC_PORT" -db "$source_db" -newdb "$db" "$folder/influxdb" > "$RUN_DIR/influxdb-restore.log" 2>&1 \
            || { tail_logs "$RUN_DIR/influxdb-restore.log"; die "influx: restore into '$db' failed"; }
    fi

    local restored expected
    restored="$(schema_version "$db")"
    expected="$(manifest_get "$folder" 'str(m["schema"]["latest_version"]) + "|" + m["schema"]["latest_name"] + "|" + str(m["schema"]["applied_migrations"])')"
    [[ $restored == "$expected" ]] || die "pg: restored schema version '$restored' differs from the manifest's '$expected'"
    log "restored $folder into '$db' (schema version ${restored%%|*}); start the platform on it: it applies newer migrations itself and refuses a schema newer than its binary"
}

cmd=${1:-}
[[ $# -ge 1 ]] && shift
case $cmd in
    backup)  backup "$@" ;;
    restore) restore "$@" ;;
    verify)  [[ $# -eq 1 ]] || usage; prerequisites; verify "$1"; cat "$1/manifest.json" ;;
    *)       usage ;;
esac
