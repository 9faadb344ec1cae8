"""EMD solvers on clouds shaped like Yang et al.'s training clouds: the auction
(`approx_emd`) against scipy's exact assignment (`exact_emd`), both jitted, B = 32 pairs
of 256 points, the target a Gaussian cloud normalised to unit RMS radius (as
jaxhands.methods.point_modalities normalises clouds), the prediction in three states:

  collapsed:   an untrained decoder's output (all points within ~0.01 of one place);
  independent: another unit Gaussian cloud (early training);
  near:        the target plus N(0, 0.05^2) noise (late training).

    python benchmarks/emd_training_clouds.py [--repeats 5]

Prints the median time per batch of each solver, their ratio and the auction's largest
relative error over the pairs. benchmarks/point_cloud_losses.py has the uniform-cube
regimes, POT and N = 1024.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax
import numpy as np

from jaxhands.losses.emd import approx_emd, exact_emd


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batch, n = 32, 256
    target = rng.normal(size=(batch, n, 3)).astype(np.float32)
    target /= np.sqrt((target ** 2).sum(-1).mean(1))[:, None, None]
    cases = {"collapsed": 0.01 * rng.normal(size=(batch, n, 3)).astype(np.float32),
             "independent": rng.normal(size=(batch, n, 3)).astype(np.float32),
             "near": target + 0.05 * rng.normal(size=(batch, n, 3)).astype(np.float32)}
    solvers = {"auction": jax.jit(lambda p, t: approx_emd(p, t, batch_reduction="none")),
               "exact": jax.jit(lambda p, t: exact_emd(p, t, batch_reduction="none"))}
    print(f"jax {jax.__version__}; B = {batch}, N = {n}; median ms per batch over {args.repeats} (alternating)")
    for name, pred in cases.items():
        times, values = {k: [] for k in solvers}, {}
        for k, f in solvers.items():
            values[k] = np.asarray(jax.block_until_ready(f(pred, target)))  # compile
        for r in range(args.repeats):
            for k in (list(solvers) if r % 2 == 0 else list(solvers)[::-1]):
                start = time.perf_counter()
                jax.block_until_ready(solvers[k](pred, target))
                times[k].append(time.perf_counter() - start)
        ms = {k: 1000 * statistics.median(v) for k, v in times.items()}
        err = float(np.max(np.abs(values["auction"] / values["exact"] - 1)))
        print(f"  {name:12s} auction {ms['auction']:7.1f}  exact {ms['exact']:7.1f}  "
              f"auction / exact {ms['auction'] / ms['exact']:5.2f}  max rel. error {100 * err:.3f} %", flush=True)


if __name__ == "__main__":
    main()
