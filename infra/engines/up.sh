#!/usr/bin/env bash
# Start Kafka 4.4 (KRaft, one node), FerretDB (MongoDB wire, SQLite) and PostgreSQL 15 (postgres.sh) for
# tests; `npm run engines:up`.
# Idempotent: installs what is missing, reuses engines that are running and answering, writes .engines/env.
set -euo pipefail
cd "$(dirname "$0")/../.."
E=$PWD/.engines
K=$PWD/infra/engines/kafka
LIBS=$K/target/kafka-libs
BIN=$PWD/infra/engines/ferretdb/ferretdb-bin
KAFKA_PORT=${KAFKA_PORT:-9092}
CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-9093}
MONGO_PORT=${MONGO_PORT:-27017}
BROKERS=127.0.0.1:$KAFKA_PORT
MONGO_URL=mongodb://127.0.0.1:$MONGO_PORT/
mkdir -p "$E"

ms() { date +%s%3N; }
took() { local d=$(( $(ms) - $2 )); echo "engines: $1 took $((d / 1000)).$((d % 1000 / 100)) s"; }
ours() { [[ -f $E/$1.pid ]] && ps -p "$(cat "$E/$1.pid")" -o args= 2>/dev/null | grep -q -- "$2"; }
apt_updated=
apt_install() {
  [[ -n $apt_updated ]] || { apt-get update -qq && apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"
}
fail() { # name logfile: show the log, stop the process, exit non-zero
  echo "engines: $1 failed to start; last 100 lines of $2:" >&2
  tail -n 100 "$2" >&2 || true
  ours "$1" . && kill -KILL "$(cat "$E/$1.pid")" 2>/dev/null || true
  rm -f "$E/$1.pid"
  exit 1
}

# --- tools and artifacts (a new machine has none of them cached) ---
command -v java >/dev/null || apt_install openjdk-17-jre-headless
command -v mvn >/dev/null || apt_install maven
command -v go >/dev/null || { echo "engines: Go 1.24+ is required to build FerretDB" >&2; exit 1; }
command -v kcat >/dev/null || apt_install kcat >/dev/null || echo "engines: WARNING: could not install kcat (optional)" >&2
if [[ ! -d $LIBS ]]; then
  t=$(ms); echo "engines: downloading Kafka jars (Maven)"
  mvn -B -q -f "$K/pom.xml" dependency:copy-dependencies
  took "maven copy-dependencies" "$t"
fi
if [[ ! -x $BIN ]]; then
  t=$(ms); echo "engines: building FerretDB (first compile takes a few minutes)"
  (cd infra/engines/ferretdb && CGO_ENABLED=0 go build -o ferretdb-bin .)
  took "go build ferretdb" "$t"
fi

# --- Kafka: fresh storage per run, formatted --standalone (one-voter dynamic KRaft quorum) ---
t=$(ms)
if ours kafka kafka.Kafka && node infra/engines/wait.mjs kafka "$BROKERS" "$(cat "$E/kafka.pid")" 15; then
  echo "engines: kafka already running (pid $(cat "$E/kafka.pid"))"
  kafka_started=
else
  ours kafka kafka.Kafka && kill -KILL "$(cat "$E/kafka.pid")" || true
  rm -rf "$E"/kafka-*
  KDIR=$(mktemp -d "$E/kafka-XXXXXX")
  mkdir -p "$KDIR/data" "$KDIR/logs"
  sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$CONTROLLER_PORT|g" -e "s|@LOG_DIR@|$KDIR/data|g" \
    "$K/server.properties" >"$KDIR/server.properties"
  JOPTS=(-Xms256m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true -Dkafka.logs.dir="$KDIR/logs"
    -Dlog4j2.configurationFile="$K/log4j2.properties")
  CLUSTER_ID=$(node -e 'let s; do s = require("crypto").randomBytes(16).toString("base64url"); while (s[0] === "-"); console.log(s)')
  java "${JOPTS[@]}" -cp "$LIBS/*" kafka.tools.StorageTool format --standalone -t "$CLUSTER_ID" \
    -c "$KDIR/server.properties" >"$KDIR/broker.out" 2>&1 || fail kafka "$KDIR/broker.out"
  setsid java "${JOPTS[@]}" -cp "$LIBS/*" kafka.Kafka "$KDIR/server.properties" </dev/null >>"$KDIR/broker.out" 2>&1 &
  echo $! >"$E/kafka.pid"
  kafka_started=1
fi

# --- FerretDB: SQLite files under .engines/ferretdb-data/ ---
if ours ferretdb ferretdb-bin && node infra/engines/wait.mjs mongo "$MONGO_URL" "$(cat "$E/ferretdb.pid")" 15; then
  echo "engines: ferretdb already running (pid $(cat "$E/ferretdb.pid"))"
else
  ours ferretdb ferretdb-bin && kill -KILL "$(cat "$E/ferretdb.pid")" || true
  setsid "$BIN" -listen "127.0.0.1:$MONGO_PORT" -data "$E/ferretdb-data" </dev/null >"$E/ferretdb.log" 2>&1 &
  echo $! >"$E/ferretdb.pid"
  node infra/engines/wait.mjs mongo "$MONGO_URL" "$(cat "$E/ferretdb.pid")" 90 || fail ferretdb "$E/ferretdb.log"
  echo "engines: ferretdb ready on $MONGO_URL (pid $(cat "$E/ferretdb.pid"))"
fi

if [[ -n $kafka_started ]]; then
  node infra/engines/wait.mjs kafka "$BROKERS" "$(cat "$E/kafka.pid")" 90 || fail kafka "$KDIR/broker.out"
  echo "engines: kafka ready on $BROKERS (pid $(cat "$E/kafka.pid"))"
fi
took "start" "$t"

printf 'KAFKA_BROKERS=%s\nMONGO_URL=%s\n' "$BROKERS" "$MONGO_URL" >"$E/env"
bash infra/engines/postgres.sh up # adds POSTGRES_URL to .engines/env
echo "engines: wrote .engines/env"
