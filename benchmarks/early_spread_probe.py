"""Does a run collapse? Short runs of one named config under several overrides, read by the
collapse signal over their first steps.

    JAXHANDS_DATA_DIR=/tmp/jh_data python benchmarks/early_spread_probe.py \
        --config yang19_s3_rc2chp --steps 300 \
        --variant beta_prime_0.01 --config.align_beta=0.01 \
        --variant beta_prime_0.1 --config.align_beta=0.1 \
        --variant sigma_1 --config.encoder_logvar_init=0.0 \
        --reference S2=/tmp/runs/yang_rgb_s2_s0 --reference S3=/tmp/runs/yang_rgb_s3_s0 \
        --root /tmp/runs/probe --out docs/results/yang19_s3_alignment_probe.json

Each `--variant LABEL` is followed by the `--config.FIELD=VALUE` overrides it applies; each
variant is trained through `train.py` (the same command a user types, printed in the
results) for --steps steps, evaluated once at the end (`eval_every` = steps), and read from
its `metrics.jsonl`: every logged `*_spread` (the root-relative spread of the decoded poses
over the batch / the targets'; jaxhands.evaluation.spread: ~0 is one constant pose), the
loss terms named by --keys, and the held-out `eval/*` figures at the last step.
`--reference LABEL=WORKDIR` adds an existing, longer run read at the same steps (e.g. a
strategy that learns and the one under study at its defaults), so the probe's trajectories
stand beside what learning looks like on the same data. A workdir that already holds the
variant's finished run is read, not retrained.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]


def parse_variants(argv: list[str]) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """Splits argv into (other args, [(label, [--config.X=Y ...])]): each `--variant LABEL`
    owns the `--config.` arguments that follow it up to the next `--variant`."""
    rest, variants = [], []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--variant":
            if i + 1 >= len(argv):
                raise SystemExit("--variant needs a label")
            variants.append((argv[i + 1], []))
            i += 2
            continue
        if arg.startswith("--config.") and variants:
            variants[-1][1].append(arg)
        elif arg.startswith("--config."):
            raise SystemExit(f"{arg}: a --config. override must follow a --variant LABEL")
        else:
            rest.append(arg)
        i += 1
    return rest, variants


def read_metrics(workdir: pathlib.Path, steps: list[int], keys: list[str]) -> dict:
    """{'trajectory': {step: {key: value}}, 'final_eval': {...}, 'last_step': N} from a
    run's metrics.jsonl: the *_spread keys and `keys` at `steps`, eval/* at the last step."""
    path = workdir / "metrics.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no metrics.jsonl (did the run start?)")
    records = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    wanted = set(steps)
    trajectory = {}
    for record in records:
        if record.get("step") in wanted:
            picked = {k: v for k, v in record.items() if k.endswith("_spread") or k in keys}
            trajectory.setdefault(record["step"], {}).update(picked)
    evals = [r for r in records if any(k.startswith("eval/") for k in r)]
    final_eval = {k: v for k, v in evals[-1].items() if k.startswith("eval/")} if evals else {}
    return {"trajectory": trajectory, "final_eval": final_eval,
            "eval_step": evals[-1]["step"] if evals else None,
            "last_step": max((r.get("step", 0) for r in records), default=0)}


def main():
    rest, variants = parse_variants(sys.argv[1:])
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True, help="the named config every variant starts from")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--log-every", type=int, default=50, help="the steps read (multiples of this)")
    parser.add_argument("--keys", nargs="*", default=["align_kl", "grad_norm", "loss"])
    parser.add_argument("--reference", action="append", default=[], metavar="LABEL=WORKDIR")
    parser.add_argument("--root", type=pathlib.Path, required=True, help="parent of the variants' workdirs")
    parser.add_argument("--out", type=pathlib.Path, required=True)
    args = parser.parse_args(rest)
    if not variants:
        raise SystemExit("give at least one --variant LABEL [--config.FIELD=VALUE ...]")
    steps = list(range(args.log_every, args.steps + 1, args.log_every))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    results = {"config": args.config, "steps": args.steps, "commit": commit,
               "command": "python benchmarks/early_spread_probe.py " + " ".join(sys.argv[1:]),
               "variants": [], "references": []}
    for label, overrides in variants:
        workdir = args.root / label
        command = [sys.executable, str(ROOT / "train.py"), f"--config={args.config}", f"--workdir={workdir}",
                   f"--config.num_train_steps={args.steps}", f"--config.eval_every={args.steps}", *overrides]
        seconds = None
        done = (workdir / "metrics.jsonl").is_file() and read_metrics(workdir, steps, [])["last_step"] >= args.steps
        if not done:
            start = time.perf_counter()
            subprocess.run(command, check=True, cwd=ROOT)
            seconds = time.perf_counter() - start
        row = {"label": label, "overrides": overrides, "workdir": str(workdir), "train_seconds": seconds,
               "command": "python train.py " + " ".join(command[2:]), **read_metrics(workdir, steps, args.keys)}
        results["variants"].append(row)
        print(label, row["trajectory"].get(steps[-1]), row["final_eval"], flush=True)
    for reference in args.reference:
        label, _, workdir = reference.partition("=")
        row = {"label": label, "workdir": workdir, **read_metrics(pathlib.Path(workdir), steps, args.keys)}
        row.pop("final_eval")  # measured at its own (longer) budget, not comparable here
        results["references"].append(row)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print("wrote", args.out)


if __name__ == "__main__":
    main()
