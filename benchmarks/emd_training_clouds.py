"""EMD solvers on clouds shaped like Yang et al.'s training clouds: the auction
(`approx_emd`) against scipy's exact assignment (`exact_emd`), both jitted, B = 32 pairs
of 256 points, the target a Gaussian cloud normalised to unit RMS radius (as
jaxhands.methods.point_modalities normalises clouds), the prediction in three states:

  collapsed:   an untrained decoder's output (all points within ~0.01 of one place);
  independent: another unit Gaussian cloud (early training);
  near:        the target plus N(0, 0.05^2) noise (late training).

    python benchmarks/emd_training_clouds.py [--repeats 5] [--rel-tols 0.05 0.2] [--out FILE.json]

Prints the median time per batch of each solver, their ratio and the auction's largest
relative error over the pairs, for each auction tolerance (`approx_emd`'s rel_tol, the
configs' `cloud_emd_rel_tol`). benchmarks/point_cloud_losses.py has the uniform-cube
regimes, POT and N = 1024.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import sys
import time

import jax
import numpy as np

from jaxhands.losses.emd import approx_emd, exact_emd


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rel-tols", type=float, nargs="+", default=[0.05])
    parser.add_argument("--out", type=pathlib.Path, default=None)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    batch, n = 32, 256
    target = rng.normal(size=(batch, n, 3)).astype(np.float32)
    target /= np.sqrt((target ** 2).sum(-1).mean(1))[:, None, None]
    cases = {"collapsed": 0.01 * rng.normal(size=(batch, n, 3)).astype(np.float32),
             "independent": rng.normal(size=(batch, n, 3)).astype(np.float32),
             "near": target + 0.05 * rng.normal(size=(batch, n, 3)).astype(np.float32)}
    solvers = {f"auction@{tol:g}": jax.jit(lambda p, t, tol=tol: approx_emd(p, t, batch_reduction="none",
                                                                             rel_tol=tol))
               for tol in args.rel_tols}
    solvers["exact"] = jax.jit(lambda p, t: exact_emd(p, t, batch_reduction="none"))
    print(f"jax {jax.__version__}; B = {batch}, N = {n}; median ms per batch over {args.repeats} (alternating)")
    rows = []
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
        for k in solvers:
            if k == "exact":
                continue
            err = float(np.max(np.abs(values[k] / values["exact"] - 1)))
            print(f"  {name:12s} {k:13s} {ms[k]:7.1f} ms  exact {ms['exact']:7.1f}  "
                  f"ratio {ms[k] / ms['exact']:5.2f}  max rel. error {100 * err:.3f} %", flush=True)
            rows.append({"clouds": name, "solver": k, "ms": ms[k], "exact_ms": ms["exact"],
                         "ratio": ms[k] / ms["exact"], "max_rel_error": err})
    if args.out:
        args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "jax": jax.__version__,
                                        "batch": batch, "points": n, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
