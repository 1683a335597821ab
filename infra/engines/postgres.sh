#!/usr/bin/env bash
# PostgreSQL 15 for tests: `postgres.sh up` | `postgres.sh down` (called by up.sh / down.sh, or on its own).
# up: installs Debian's server when missing, initdb's a fresh throwaway cluster under .engines/pg-XXXXXX
# (trust auth, loopback only, fsync and synchronous_commit on), starts it on 127.0.0.1:$POSTGRES_PORT
# (default 55432), creates database `aggregator` and writes POSTGRES_URL into .engines/env.
# Idempotent: a cluster that is running and answering is reused. down: stops it and removes its files.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=$PWD/.engines
PORT=${POSTGRES_PORT:-55432}
DB=aggregator
URL=postgres://postgres@127.0.0.1:$PORT/$DB
mkdir -p "$E"

ms() { date +%s%3N; }
took() { local d=$(( $(ms) - $2 )); echo "engines: $1 took $((d / 1000)).$((d % 1000 / 100)) s"; }
pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# initdb and postgres refuse to run as root: run them as the `postgres` user (apt creates it)
as_pg() { if [[ $(id -u) == 0 ]]; then (cd /tmp && runuser -u postgres -- "$@"); else "$@"; fi; }
cluster() { cat "$E/postgres.dir" 2>/dev/null; }
running() { local d; d=$(cluster) && [[ -d $d/data ]] && as_pg "$(pgbin)/pg_ctl" -D "$d/data" status >/dev/null 2>&1; }

down() {
  local d
  if d=$(cluster) && [[ -d $d/data ]] && running; then
    as_pg "$(pgbin)/pg_ctl" -D "$d/data" -m fast -w -t 30 stop >/dev/null && echo "engines: postgres stopped ($d)"
  fi
  # only what this script made: the recorded cluster, then any orphan pg-* directory left by a crash
  rm -rf "$E"/pg-* "$E/postgres.dir"
  [[ -f $E/env ]] && sed -i '/^POSTGRES_URL=/d' "$E/env"
  return 0
}

up() {
  local t d
  if [[ -z $(pgbin) ]] || [[ ! -x $(pgbin)/initdb ]]; then
    t=$(ms); echo "engines: installing postgresql (apt)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    took "apt-get install postgresql" "$t"
  fi
  local bin; bin=$(pgbin)
  t=$(ms)
  if running && "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    echo "engines: postgres already running ($(cluster), port $PORT)"
  else
    down >/dev/null
    d=$(mktemp -d "$E/pg-XXXXXX")
    [[ $(id -u) == 0 ]] && chown postgres: "$d" # mktemp makes it 0700 root: the server could not enter it
    echo "$d" >"$E/postgres.dir"
    as_pg "$bin/initdb" -D "$d/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$d/initdb.log" 2>&1 ||
      { cat "$d/initdb.log" >&2; exit 1; }
    # max_connections: every test file opens its own pools and LISTEN clients, in parallel
    as_pg "$bin/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 30 -o "-c listen_addresses=127.0.0.1 -p $PORT \
      -c unix_socket_directories=$d -c fsync=on -c synchronous_commit=on -c max_connections=300" start >/dev/null ||
      { echo "engines: postgres failed to start; last 100 lines of $d/server.log:" >&2; tail -n 100 "$d/server.log" >&2; exit 1; }
    echo "engines: postgres ready on 127.0.0.1:$PORT ($d)"
  fi
  if [[ -z $("$bin/psql" -h 127.0.0.1 -p "$PORT" -U postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'") ]]; then
    "$bin/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB"
  fi
  took "postgres" "$t"
  touch "$E/env"
  sed -i '/^POSTGRES_URL=/d' "$E/env"
  echo "POSTGRES_URL=$URL" >>"$E/env"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) echo "usage: $0 up|down   (POSTGRES_PORT, default 55432)" >&2; exit 2 ;;
esac
