#!/bin/bash
# Training on a Cloud TPU pod slice: the same command on every host; jax.distributed
# auto-detects the TPU topology.
#
#   scripts/tpu_pod.sh TPU_NAME ZONE spurr18_rgb_to_3d_var3_gpu256 gs://bucket/workdirs/rgb256
set -euo pipefail
TPU=${1:?tpu name}; ZONE=${2:?zone}; CONFIG=${3:?config}; WORKDIR=${4:?workdir (gs:// or shared)}
gcloud compute tpus tpu-vm ssh "$TPU" --zone "$ZONE" --worker=all --command \
  "cd ~/jaxhands && pip install -q -e . 'jax[tpu]' && python train.py --distributed --config $CONFIG --workdir $WORKDIR --progress=false"
