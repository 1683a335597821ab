#!/usr/bin/env bash
# Stop the engines started by up.sh (by PID: TERM, then KILL; PostgreSQL by pg_ctl) and remove per-run
# Kafka and PostgreSQL data. Never fails.
cd "$(dirname "$0")/../.." || exit 0
E=.engines

stop() { # name pattern-in-its-command-line
  local pid
  pid=$(cat "$E/$1.pid" 2>/dev/null) || return 0
  if ps -p "$pid" -o args= 2>/dev/null | grep -q -- "$2"; then
    kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "engines: $1 (pid $pid) ignored TERM for 10 s; killing"
      kill -KILL "$pid" 2>/dev/null
    fi
    echo "engines: $1 stopped (pid $pid)"
  fi
  rm -f "$E/$1.pid"
}

stop kafka kafka.Kafka
stop ferretdb ferretdb-bin
bash infra/engines/postgres.sh down
rm -rf "$E"/kafka-* "$E/env"
exit 0
