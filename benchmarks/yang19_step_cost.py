"""Where a Yang et al. 2019 RGB train step spends its time: the library's jitted step of
each strategy, and S2 / S4 with one part removed at a time, on real batches.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/yang19_step_cost.py [--steps 8] [--rounds 3]
        [--variants S1 S2 S2-no-emd ...] [--out docs/results/yang19_step_cost.json]

Each variant is a named config plus overrides (VARIANTS below). For every variant the
step is compiled once (the loop's own `compile_step`, one jitted function per phase) and
then timed over --rounds rounds of --steps steps on batches drawn beforehand from the
training stream (so the host's crop, warp and point sampling are timed separately, as
`host_batch_s`); the median per-step time is reported. Removing a part and
re-measuring prices it with everything XLA fuses around it, which a profiler trace's
per-op times do not.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import statistics
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]

# name: (named config, overrides, what it isolates)
VARIANTS = {
    "S1": ("yang19_s1_r2p", {}, "RGB -> pose: the ResNet encoder and the pose decoder"),
    "S2-heatmap": ("yang19_s2_r2hp", {}, "S1 + the heatmap decoder"),
    "S2-cloud": ("yang19_s2_r2cp", {}, "S1 + the FoldingNet decoder with Chamfer + EMD"),
    "S2-cloud-no-emd": ("yang19_s2_r2cp", {"cloud_emd_weight": 0.0}, "S2-cloud with Chamfer only"),
    "S2-cloud-no-chamfer": ("yang19_s2_r2cp", {"cloud_chamfer_weight": 0.0}, "S2-cloud with EMD only"),
    "S2": ("yang19_s2_r2chp", {}, "RGB -> cloud + heatmap + pose"),
    "S3": ("yang19_s3_rc2chp", {}, "S2 + the ResPEL cloud encoder, KL alignment"),
    "S4": ("yang19_s4_rc2chp", {}, "S2 + the ResPEL cloud encoder, product of experts"),
    "S4-no-emd": ("yang19_s4_rc2chp", {"cloud_emd_weight": 0.0}, "S4 with Chamfer only"),
    "S4-emd-tol0.2": ("yang19_s4_rc2chp", {"cloud_emd_rel_tol": 0.2}, "S4 with the auction EMD at rel_tol 0.2"),
}


def time_variant(name: str, steps: int, rounds: int) -> dict:
    import jax

    from jaxhands.configs.loader import load_config
    from jaxhands.training import sharding
    from jaxhands.training.experiment import build_experiment
    from jaxhands.training.loop import initial_state
    from jaxhands.training.optimizer import group_optimizers
    from jaxhands.training.parallel import make_parallel

    config_name, overrides, what = VARIANTS[name]
    config = load_config(config_name, overrides)
    mesh = sharding.make_mesh()
    parallel = make_parallel(config.parallel, mesh)
    experiment = build_experiment(config)
    state = parallel.place_state(initial_state(experiment, config, mesh))
    step_fn = parallel.compile_step(experiment.method, group_optimizers(experiment.method, config), state)

    batches = experiment.train_batches(0)
    drawn = [next(batches)]  # the first batch also starts the pipeline (workers, record reads)
    t0 = time.perf_counter()
    drawn += [next(batches) for _ in range(steps - 1)]
    host_batch_s = (time.perf_counter() - t0) / (steps - 1)

    t0 = time.perf_counter()
    state, metrics = step_fn(0, state, drawn[0])
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0
    per_step = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for i, batch in enumerate(drawn):
            state, metrics = step_fn(i + 1, state, batch)
        jax.block_until_ready(state)
        per_step.append((time.perf_counter() - t0) / steps)
    return {"variant": name, "config": config_name, "overrides": overrides, "isolates": what,
            "step_s": statistics.median(per_step), "step_s_rounds": per_step, "host_batch_s": host_batch_s,
            "first_step_s_with_compile": compile_s, "phases": len(experiment.method.phases)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=8, help="steps per timed round (>= 2)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=pathlib.Path, default=None)
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)  # child mode: time one variant
    args = parser.parse_args()
    if args.steps < 2 or args.rounds < 1:  # the first batch starts the pipeline and is not timed
        parser.error(f"--steps must be >= 2 and --rounds >= 1, got {args.steps} and {args.rounds}")
    if args.one:
        print(json.dumps(time_variant(args.one, args.steps, args.rounds)))
        return
    rows = []
    for name in args.variants:  # one process per variant: no compiled code or caches shared
        out = subprocess.run([sys.executable, __file__, "--one", name, "--steps", str(args.steps),
                              "--rounds", str(args.rounds)], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            raise SystemExit(f"variant {name} failed:\n{out.stderr[-3000:]}")
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        r = rows[-1]
        print(f"{name:20s} step {r['step_s'] * 1e3:8.1f} ms  host batch {r['host_batch_s'] * 1e3:7.1f} ms  "
              f"({r['isolates']})", flush=True)
        if args.out:
            args.out.write_text(json.dumps({"command": " ".join(["python"] + sys.argv), "rows": rows}, indent=2))
    base = {r["variant"]: r["step_s"] for r in rows}
    if "S1" in base:
        print("\nratios to S1: " + ", ".join(f"{k} {v / base['S1']:.2f}" for k, v in base.items()))


if __name__ == "__main__":
    main()
