#!/usr/bin/env bash
# One short GPU run that gives the numbers issue 17 asks for at once (under 8 minutes on an
# H100): the 2D -> 3D and 256 px RGB -> 3D train steps against PyTorch on the same GPU, the
# point-cloud losses, and a short RGB -> 3D learning curve on the crop protocol with its
# mean-pose baseline. Prints one summary table at the end; every log lands in $OUT (or
# ./gpu_check_out).
#
# The GPU image lacks some of jaxhands' dependencies; fetch them here first, as wheels:
#     bash benchmarks/gpu_wheels.sh          # -> .whl/ (git-ignored through .git/info/exclude)
# then run this on the device with `.whl` carried:
#     bash benchmarks/gpu_check.sh
# Knobs (environment): GPU_CHECK_STEPS (learning-curve steps, default 3000),
# GPU_CHECK_SMOKE=1 (tiny sizes on any backend: checks the script itself, numbers meaningless).
set -u -o pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu_check_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg JAXHANDS_DATA_DIR=${JAXHANDS_DATA_DIR:-/tmp/jh_data}
if ls .whl/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        || { echo "wheel install failed"; exit 1; }
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
PY=${PYTHON:-python3}
STEPS=${GPU_CHECK_STEPS:-3000}
if [ "${GPU_CHECK_SMOKE:-0}" = 1 ]; then
    STEP2D="--batch 8 --steps 2 --rounds 2"; STEPRGB="--size 32 --width 4 --batch 2 --steps 1 --rounds 2"
    CLOUD="--quick --repeats 1"; STEPS=20; CURVE="--config.synthetic_num_train=64 --config.synthetic_num_test=32"
    TORCH_DEVICE=cpu
else
    STEP2D="--batch 64 --steps 200 --rounds 5"; STEPRGB="--size 256 --batch 32 --width 64 --steps 10 --rounds 3"
    CLOUD="--repeats 5"; CURVE=""
    TORCH_DEVICE=cuda
fi

section() { echo; echo "=== $1 ($(date +%T))"; }
{
    section "device"
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    $PY -c "import jax; print('jax', jax.__version__, jax.devices())"

    section "2D -> 3D train step"
    timeout 120 $PY benchmarks/train_step_2d3d.py $STEP2D --torch-device $TORCH_DEVICE

    section "RGB -> 3D train step"
    timeout 200 $PY benchmarks/train_step_rgb3d.py $STEPRGB --torch-device $TORCH_DEVICE

    section "point-cloud losses"
    timeout 120 $PY benchmarks/point_cloud_losses.py $CLOUD

    section "RGB -> 3D learning curve ($STEPS steps, 64 px crops)"
    rm -rf /tmp/gpu_check_run
    timeout 300 $PY train.py --config=spurr18_rgb_to_3d_var1 --workdir=/tmp/gpu_check_run --noprogress \
        --config.num_train_steps=$STEPS --config.lr_schedule=cosine --config.eval_every=$((STEPS / 3 > 0 ? STEPS / 3 : 1)) \
        --config.log_every=$((STEPS / 3 > 0 ? STEPS / 3 : 1)) $CURVE
    timeout 120 $PY eval.py --workdir=/tmp/gpu_check_run
    timeout 120 $PY -m jaxhands.baselines mean_pose --workdir=/tmp/gpu_check_run
} 2>&1 | grep -v -E "^WARNING: All log messages before absl|^W0000|^I0000" | tee "$OUT/gpu_check.log"

section "summary" | tee -a "$OUT/gpu_check.log"
grep -E "^(2D -> 3D|RGB -> 3D train)|samples/s|ratio|mean EPE|mean_epe_mm|^jax |H100|H200|emd|chamfer" \
    "$OUT/gpu_check.log" | grep -v -E "generating|done: " | tee "$OUT/gpu_check_summary.txt"
