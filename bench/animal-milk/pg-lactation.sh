#!/usr/bin/env bash
# Issue 17: one animal's lactation (305 days) from animal_milk_day (migration 0401's shape, monthly partitions) at a
# table size this machine can hold: ANIMALS animals x 365 days of rows with three milkings each, in a scratch database
# of the instance's PostgreSQL ($HOHHOT_PG_CONNECTION's server). Prints the table size and the query's times.
# Usage: bench/animal-milk/pg-lactation.sh [animals]
set -euo pipefail
animals=${1:-3000}
: "${HOHHOT_PG_PORT:?start the servers and eval \"$(bash deploy/servers.sh env)\" first}"
export PGPASSWORD=$HOHHOT_PG_PASSWORD
psql_() { psql -h 127.0.0.1 -p "$HOHHOT_PG_PORT" -U hohhot -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -d hohhot -c "drop database if exists animal_milk_bench" -c "create database animal_milk_bench"
sed -n '/^create table animal_milk_day/,/^create index animal_milk_day_pasture/p' "$(dirname "$0")/../../src/HohhotCluster.Telemetry.Animals/Migrations/0401_animal_milk.sql" \
  | psql_ -d animal_milk_bench
psql_ -d animal_milk_bench <<SQL
do \$\$ begin
  for m in 0..12 loop
    execute format('create table animal_milk_day_%s partition of animal_milk_day for values from (%L) to (%L)', m,
      date '2025-01-01' + make_interval(months => m), date '2025-01-01' + make_interval(months => m + 1));
  end loop;
end \$\$;
-- Day by day, as the platform writes it: each day's rows of every animal arrive together.
insert into animal_milk_day
select '2150121' || lpad(a::text, 8, '0'), d::date, 'P' || (a / 1000), '150121', 'H' || (a / 250), 30, 3, 30, 0, 0, 0, 0,
       array['MM' || (a / 50) || '/1/' || (3 * a), 'MM' || (a / 50) || '/1/' || (3 * a + 1), 'MM' || (a / 50) || '/1/' || (3 * a + 2)],
       array[d + interval '5 hours', d + interval '13 hours', d + interval '21 hours'], array[10.0, 10.0, 10.0]::float8[], array[0, 0, 0]::int2[]
from generate_series(date '2025-01-01', date '2025-12-31', interval '1 day') d, generate_series(1, $animals) a
order by d, a;
vacuum analyze animal_milk_day;
SQL
psql_ -d animal_milk_bench -At -c "select count(*) || ' partitions, ' || pg_size_pretty(sum(pg_total_relation_size(c.oid))) from pg_class c join pg_inherits i on i.inhrelid = c.oid where i.inhparent = 'animal_milk_day'::regclass" \
  -c "select 'rows counted: ' || count(*) from animal_milk_day"
tag="2150121$(printf '%08d' $((animals / 2)))"
psql_ -d animal_milk_bench -At -c "explain (analyze, buffers, costs off) select day, kg from animal_milk_day where ear_tag = '$tag' and day between '2025-02-01' and '2025-12-02' order by day" | grep -E "Execution|Planning|Buffers" | head -4
for i in $(seq 20); do
  psql_ -d animal_milk_bench -At -c "explain (analyze, costs off) select day, kg from animal_milk_day where ear_tag = '2150121$(printf '%08d' $(( (i * 7919) % animals + 1 )))' and day between '2025-02-01' and '2025-12-02' order by day" | sed -n 's/Execution Time: //p'
done | sort -n | awk '{ t[NR] = $1 } END { printf "20 random animals, 305 days each: median %s, max %s (server execution time)\n", t[int(NR / 2)], t[NR] }'
psql_ -d hohhot -c "drop database animal_milk_bench"
