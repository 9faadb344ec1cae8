"""python -m jaxhands.baselines NAME (--config=NAME|FILE [--config.field=value] | --workdir=DIR)
[--out=FILE] [--pool_size=N] [--test_dataset=NAME_OR_PATH]: a baseline's metrics on an experiment's
test split, or fitted on its training split and scored on another dataset's test split."""

from __future__ import annotations

import argparse
import json
import pathlib
import sys

from jaxhands.baselines import BASELINES, evaluate_baseline
from jaxhands.configs import ConfigError, load_config, split_config_args


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jaxhands.baselines", description=__doc__)
    parser.add_argument("name", choices=sorted(BASELINES))
    parser.add_argument("--workdir", type=pathlib.Path, default=None,
                        help="training workdir (its config.json); or --config=NAME|FILE [--config.field=value]")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="JSON file for the result")
    parser.add_argument("--pool_size", type=int, default=None, help="pixel_nearest_neighbour: side of the pooled image")
    parser.add_argument("--test_dataset", default=None,
                        help="score on this dataset's test split (a name or a path; train on A, test on B)")
    try:
        spec, overrides, rest = split_config_args(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(rest)
        if (spec is None) == (args.workdir is None):
            parser.error("give exactly one of --config=NAME (or a .py file) and --workdir=DIR")
        config = load_config(args.workdir if args.workdir is not None else spec, overrides)
    except ConfigError as err:
        parser.error(str(err))
    options = {"pool_size": args.pool_size} if args.pool_size is not None else {}
    if args.test_dataset is not None:
        options["test_dataset"] = args.test_dataset
    result = evaluate_baseline(args.name, config, **options)
    print(f"{args.name} on {result['num_samples']} test samples ({result['num_train']} training): "
          f"mean EPE {result['mean_epe_mm']:.2f} mm, median {result['median_epe_mm']:.2f} mm, "
          f"PA-EPE {result['pa_mean_epe_mm']:.2f} mm, AUC 20-50 {result['auc_20_50']:.4f}")
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
