#!/usr/bin/env bash
# Runs a command with one DynamoDB Local for all of it (on a free port of 127.0.0.1, listening
# there only, through the launcher scripts/setup.sh compiles; in memory),
# exported as DYNAMODB_ENDPOINT, and stops it afterwards. The adapter tests start their own
# when DYNAMODB_ENDPOINT is unset; this saves starting one JVM per test process under nextest.
set -euo pipefail
cd "$(dirname "$0")/.."
JAR_DIR=.local/dynamodb
[ -f "$JAR_DIR/DynamoDBLocal.jar" ] && [ -f "$JAR_DIR/loopback/LoopbackDynamoDBLocal.class" ] \
  || { echo "DynamoDB Local (with its loopback launcher) is not installed: run make setup" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
LOG=target/dynamodb-local.log
mkdir -p target
# The command local_cloud::dynamodb::java_command builds: 127.0.0.1 only, no telemetry
# (DynamoDB Local would otherwise look up and call an AWS host at start).
(cd "$JAR_DIR" && DDB_LOCAL_TELEMETRY=0 exec java -Xmx384m -Djava.library.path=./DynamoDBLocal_lib \
  -cp 'DynamoDBLocal.jar:DynamoDBLocal_lib/*:loopback' LoopbackDynamoDBLocal \
  -inMemory -disableTelemetry -port "$PORT") >"$LOG" 2>&1 &
DDB_PID=$!
trap 'kill $DDB_PID 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
  if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$PORT),1)" 2>/dev/null; then break; fi
  kill -0 $DDB_PID 2>/dev/null || { cat "$LOG" >&2; exit 1; }
  sleep 0.5
done
export DYNAMODB_ENDPOINT="http://127.0.0.1:$PORT"
"$@"
