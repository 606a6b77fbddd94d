#!/usr/bin/env bash
# Builds volta (Release) and runs its main job on the embedded default: `volta serve` on
# 127.0.0.1:8086 with the native engine, loaded on first start with 90 days of ONS-shaped data that
# volta generates itself (`volta gen`: 500 plants, load of the 4 subsystems, interchange).
# Data lives in ./demo-data (delete it to start over). Stop with Ctrl-C (flushes, exits 0).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DVOLTA_TESTS=OFF >/dev/null
cmake --build build -j"$(nproc 2>/dev/null || echo 2)" >/dev/null
cat <<'MSG'
volta is starting on http://127.0.0.1:8086 (database "ons"). Try, from another terminal:
  curl -i http://127.0.0.1:8086/ping
  curl -s 'http://127.0.0.1:8086/query?q=SHOW+DATABASES'
  curl -s 'http://127.0.0.1:8086/query?db=ons&pretty=true' --data-urlencode \
    "q=SELECT mean(value) FROM load WHERE time >= '2024-01-01' AND time < '2024-01-08' GROUP BY time(1d), subsystem tz('America/Sao_Paulo')"
  curl -s 'http://127.0.0.1:8086/query?db=ons' --data-urlencode "q=SELECT top(value, plant, 5) FROM generation WHERE time >= '2024-01-01T15:00:00Z' AND time < '2024-01-01T16:00:00Z'"
  curl -s -XPOST 'http://127.0.0.1:8086/write?db=ons' --data-binary 'load,subsystem=SE value=41234.5'
  curl -s http://127.0.0.1:8086/metrics | grep volta_
  ./build/volta gen --days 1 --plants 10 | head      # what the demo data looks like
  cp ../shared/data/ons/CURVA_CARGA_2024.csv demo-data/landing/   # real ONS files: loaded at once
  ./build/volta status                               # landing zone, replication, lags
Stop with Ctrl-C; then `./build/volta verify demo-data` checks every checksum.
MSG
# Once the server answers, say how to protect it with an API key (optional: without any key it
# serves loopback clients only — protected mode, docs/AUTH.md).
(
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null http://127.0.0.1:8086/ping 2>/dev/null && break
    sleep 0.5
  done
  cat >&2 <<'KEYS'

volta is up. It has no API key yet, so it serves loopback clients only (protected mode).
To require keys (optional for the demo), from another terminal:
  KEY=$(./build/volta keys create --data ./demo-data --scope admin --name demo)   # shown once
  curl -s -H "x-api-key: $KEY" 'http://127.0.0.1:8086/query?q=SHOW+DATABASES'
  influx -port 8086 -username demo -password "$KEY" -execute 'SHOW DATABASES'
  VOLTA_API_KEY=$KEY ./build/volta keys list        # operator commands send $VOLTA_API_KEY
See docs/AUTH.md (scopes, --db, revocation).

KEYS
) &
exec ./build/volta serve --demo --data ./demo-data --listen 127.0.0.1:8086 "$@"
