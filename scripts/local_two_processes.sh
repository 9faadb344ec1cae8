#!/bin/bash
# Two local CPU processes talking through jax.distributed (gloo collectives) on 127.0.0.1:
# the multi-host code path on one machine, for testing.
#
#   scripts/local_two_processes.sh default workdirs/two_procs [extra train.py flags]
set -euo pipefail
CONFIG=${1:-default}; WORKDIR=${2:-workdirs/two_procs}; shift 2 || true
PORT=${PORT:-$((20000 + RANDOM % 20000))}
for i in 0 1; do
  JAX_PLATFORMS=cpu python train.py --config "$CONFIG" --workdir "$WORKDIR" --progress=false \
    --coordinator_address "127.0.0.1:$PORT" --num_processes 2 --process_id "$i" "$@" &
done
wait
