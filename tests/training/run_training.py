"""Subprocess entry for the parallelism tests: trains a tiny config, saves the params.

    python -m tests.training.run_training --data-dir D --workdir W --parallel mesh|pmap --out params.npz

XLA_FLAGS (e.g. --xla_force_host_platform_device_count=8) must be set by the caller,
before JAX starts.
"""

import argparse

import jax
import numpy as np

from tests.training.tiny_configs import tiny_config
from jaxhands.training.loop import train


def flat_params(params) -> dict:
    return {jax.tree_util.keystr(path): np.asarray(leaf)
            for path, leaf in jax.tree_util.tree_leaves_with_path(jax.device_get(params))}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--parallel", default="mesh")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    config = tiny_config(args.data_dir, parallel=args.parallel, num_train_steps=args.steps)
    result = train(config, args.workdir, progress=False)
    np.savez(args.out, devices=jax.device_count(), **flat_params(result.state.params))


if __name__ == "__main__":
    main()
