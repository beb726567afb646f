#!/usr/bin/env bash
# Run a command against a real Milvus server: the `milvus` PyPI package's milvus-server
# (Milvus 2.3 standalone with its own etcd and local storage), started in a fresh data
# directory and stopped afterwards. The command sees AIPATH_TEST_MILVUS_URI.
#   scripts/with-milvus-server.sh VENV COMMAND...
# Milvus listens on its default ports (19530 and its internal ones): no other Milvus may run.
set -euo pipefail
venv=$1; shift
data=$(mktemp -d)
# Its own process group: milvus-server starts `milvus run standalone`, which must go too.
setsid "$venv/bin/milvus-server" --data "$data" > "$data/server.log" 2>&1 &
server=$!
stop() {
  kill -TERM -- -$server 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 -- -$server 2>/dev/null || break; sleep 1; done
  kill -KILL -- -$server 2>/dev/null || true
  rm -rf "$data"
}
trap stop EXIT
for _ in $(seq 1 120); do  # it takes 30-60 s to start on two cores
  if (echo > /dev/tcp/127.0.0.1/19530) 2>/dev/null; then break; fi
  if ! kill -0 $server 2>/dev/null; then cat "$data/server.log"; exit 1; fi
  sleep 1
done
(echo > /dev/tcp/127.0.0.1/19530) 2>/dev/null || { echo "milvus-server did not start"; tail "$data/server.log"; exit 1; }
AIPATH_TEST_MILVUS_URI=http://127.0.0.1:19530 "$@"
