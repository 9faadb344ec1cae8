#!/usr/bin/env bash
# Fetches, here (where pip reaches the package index), the wheels of the jaxhands
# dependencies that the GPU machines' image lacks (its Python is 3.12 and it has jax, flax,
# optax, orbax, chex, absl, etils, scipy, matplotlib, protobuf, pyarrow, tqdm, torch), into
# .whl/, which benchmarks/gpu_check.sh installs on the device. `promise` has no wheel on
# the index: it is built here (pure Python). About 11 MiB.
set -eu -o pipefail
cd "$(dirname "$0")/.."
grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
mkdir -p .whl
PLATFORMS="--platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64
           --platform manylinux2014_x86_64 --platform manylinux1_x86_64"
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp $PLATFORMS \
    -d .whl ml-collections==1.1.0 tensorflow-datasets==4.9.10 array-record==0.8.6 grain==0.2.18 \
    tensorboardX==2.6.5 dm-tree==0.1.10 immutabledict==4.3.1 simple-parsing==0.1.9 docstring-parser==0.18.0 \
    termcolor==3.3.0 toml==0.10.2 tensorflow-metadata==1.21.0 googleapis-common-protos==1.76.0
python3 -m pip wheel -q --no-deps -w .whl promise==2.3
ls .whl
du -sh .whl
