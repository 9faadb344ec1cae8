"""Point-cloud losses: EMD accuracy/time against exact solvers, Chamfer time/memory.

    python benchmarks/point_cloud_losses.py [--repeats 3] [--quick]

EMD (Yang et al. Eq. 9, mean Euclidean distance of the optimal bijection) on B = 32
pairs of clouds in the unit cube, N = 256 and 1024 points, two regimes:
  independent: two independent uniform clouds;
  near: a shuffled copy plus N(0, 0.01^2) noise (late in training).
For each: scipy's linear_sum_assignment (exact, float64, loop over pairs), POT's network
simplex ot.emd2 (exact; if `pot` is installed, benchmark-only dependency), our exact_emd
(scipy through pure_callback, inside jit) and approx_emd (epsilon-scaling auction) at
several tolerances (--rel-tols; 0.05 is its default). Reported: relative error of the per-pair EMD
against scipy's (mean and max over pairs), whether every assignment is a permutation,
the fraction of pairs whose auction converged (error bound holds), rounds, and the time
per batch (best of --repeats) with its ratio to scipy's.

Chamfer (Eq. 8) at N = 256 (B = 32) and N = 16384 (B = 1, one pair of 16k x 16k): time
of the loss and of loss + gradient, and XLA's planned temporary memory for the default
(chunked) path against the dense path.

The machine is shared: times are wall-clock best-of-repeats and still noisy.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from jaxhands.losses.emd import approx_emd_assignment, exact_emd, matched_cost
from jaxhands.losses.point_cloud import chamfer_distance

try:
    import ot  # POT, benchmark-only
except ImportError:  # reported in the table instead
    ot = None


def make_clouds(seed: int, batch: int, n: int, regime: str):
    rng = np.random.default_rng(seed)
    x = rng.random((batch, n, 3))
    if regime == "near":
        y = x[:, rng.permutation(n)] + 0.01 * rng.normal(size=(batch, n, 3))
    else:
        y = rng.random((batch, n, 3))
    return x.astype(np.float32), y.astype(np.float32)


def best_time(fn, repeats: int) -> tuple[float, object]:
    out = fn()  # warm-up / compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return min(times), out


def scipy_emd(x, y):
    out = []
    for a, b in zip(np.float64(x), np.float64(y)):
        cost = cdist(a, b)
        rows, cols = linear_sum_assignment(cost)
        out.append(cost[rows, cols].mean())
    return np.array(out)


def pot_emd(x, y):
    out = []
    for a, b in zip(np.float64(x), np.float64(y)):
        n = len(a)
        weights = np.full(n, 1.0 / n)
        out.append(ot.emd2(weights, weights, ot.dist(a, b, metric="euclidean"), numItermax=10**8))
    return np.array(out)


def emd_table(sizes, repeats: int, rel_tols=(0.05, 0.01)):
    print("EMD, B = 32 pairs, unit cube; rel. error vs scipy per pair: mean / max; time per batch (ms)")
    header = (f"{'N':>5} {'regime':>11} {'solver':>22} {'err mean':>9} {'err max':>9} {'perm':>5} "
              f"{'conv':>5} {'rounds':>7} {'time ms':>9} {'x scipy':>8}")
    print(header)
    print("-" * len(header))
    for n in sizes:
        for regime in ("near", "independent"):
            x, y = make_clouds(n, 32, n, regime)
            scipy_time, reference = best_time(lambda: scipy_emd(x, y), repeats)

            def row(name, seconds, values, perm="", conv="", rounds=""):
                rel = (values - reference) / reference
                print(f"{n:>5} {regime:>11} {name:>22} {100 * rel.mean():>8.3f}% {100 * rel.max():>8.3f}% "
                      f"{perm:>5} {conv:>5} {rounds:>7} {1e3 * seconds:>9.1f} {seconds / scipy_time:>8.2f}")

            row("scipy (exact)", scipy_time, reference)
            if ot is None:
                print(f"{n:>5} {regime:>11} {'POT ot.emd2':>22}  not installed (pip install pot)")
            else:
                pot_time, pot_values = best_time(lambda: pot_emd(x, y), repeats)
                row("POT ot.emd2 (exact)", pot_time, pot_values)
            exact = jax.jit(lambda a, b: exact_emd(a, b, batch_reduction="none"))
            exact_time, exact_values = best_time(lambda: jax.block_until_ready(exact(x, y)), repeats)
            row("exact_emd (callback)", exact_time, np.asarray(exact_values))
            for rel_tol in rel_tols:
                @jax.jit
                def approx(a, b, rel_tol=rel_tol):
                    result = approx_emd_assignment(a, b, rel_tol=rel_tol)
                    return matched_cost(a, b, result.assignment, batch_reduction="none"), result

                seconds, (values, result) = best_time(lambda: jax.block_until_ready(approx(x, y)), repeats)
                assignment = np.asarray(result.assignment)
                perm = all(np.array_equal(np.sort(a), np.arange(n)) for a in assignment)
                row(f"approx_emd rel_tol={rel_tol}", seconds, np.asarray(values), "yes" if perm else "NO",
                    f"{np.mean(np.asarray(result.converged)):.2f}", int(np.max(np.asarray(result.num_rounds))))
    print()


def chamfer_table(repeats: int, big: int):
    print("Chamfer (Eq. 8): time (ms) and XLA temporary memory (MiB) of the default chunked path vs dense")
    header = (f"{'N':>6} {'B':>3} {'fwd ms':>9} {'fwd+grad ms':>12} {'temp MiB':>9} {'dense temp MiB':>15} "
              f"{'|chunked-dense|':>16}")
    print(header)
    print("-" * len(header))
    for n, batch in ((256, 32), (big, 1)):
        x, y = make_clouds(n + 1, batch, n, "independent")
        loss = jax.jit(chamfer_distance)
        loss_and_grad = jax.jit(jax.value_and_grad(chamfer_distance, argnums=(0, 1)))
        fwd_time, value = best_time(lambda: jax.block_until_ready(loss(x, y)), repeats)
        grad_time, _ = best_time(lambda: jax.block_until_ready(loss_and_grad(x, y)), repeats)
        spec = jax.ShapeDtypeStruct(x.shape, jnp.float32)
        temp = loss_and_grad.lower(spec, spec).compile().memory_analysis().temp_size_in_bytes
        dense_fn = jax.jit(jax.value_and_grad(lambda a, b: chamfer_distance(a, b, chunk_size=n), argnums=(0, 1)))
        dense_temp = dense_fn.lower(spec, spec).compile().memory_analysis().temp_size_in_bytes
        if n <= 4096:  # the dense path is only run where its matrix is small
            difference = f"{abs(float(dense_fn(x, y)[0]) - float(value)):.1e}"
        else:
            difference = "not run"
        print(f"{n:>6} {batch:>3} {1e3 * fwd_time:>9.1f} {1e3 * grad_time:>12.1f} {temp / 2**20:>9.1f} "
              f"{dense_temp / 2**20:>15.1f} {difference:>16}")
    print()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="N = 256 only for EMD, 4096 for Chamfer")
    parser.add_argument("--rel-tols", type=float, nargs="+", default=[0.2, 0.05, 0.01],
                        help="approx_emd tolerances to time (the configs' cloud_emd_rel_tol)")
    args = parser.parse_args()
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}; shared CPU, numbers are noisy\n")
    emd_table((256,) if args.quick else (256, 1024), args.repeats, args.rel_tols)
    chamfer_table(args.repeats, 4096 if args.quick else 16384)


if __name__ == "__main__":
    main()
