"""Command line: `python -m data_prep <dataset> --out DIR [options]`.

Writes the dataset as TFDS array_record shards under DIR/<name>/<config>/<version>,
atomically (see jaxhands.data.storage.prepare_atomically): an interrupted run leaves
nothing that looks prepared, and re-running on a complete dataset reports it and
exits 0 without regenerating, unless --overwrite.

Adding a dataset: write `data_prep/<dataset>.py` with
    add_arguments(parser: argparse.ArgumentParser)   (its own options; --out and
                                                      --overwrite are added here)
    prepare(args) -> jaxhands.data.storage.PrepareResult
(building through jaxhands.data.storage.prepare_atomically) and add one entry
(module, one-line description) to DATASETS below. Modules are imported only when chosen, so one
converter's optional dependencies never break another.

Exit status: 0 written or already complete, 1 preparation failed (message on
stderr), 2 usage error (unknown dataset, bad option values).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time

# dataset name -> (module, one-line description)
DATASETS: dict[str, tuple[str, str]] = {
    "synthetic": ("data_prep.synthetic", "synthetic rendered hands from jaxhands.synthetic (no download)"),
    "rhd": ("data_prep.rhd", "Rendered Hand Pose (RGB + depth + masks; --raw RHD_published_v2)"),
    "stb": ("data_prep.stb", "Stereo Hand Pose Benchmark, Bumblebee stereo views (--raw STB folder)"),
    "nyu": ("data_prep.nyu", "NYU hand pose, depth, 14 evaluated joints (--raw nyu_hand_dataset_v2/dataset)"),
    "icvl": ("data_prep.icvl", "ICVL hand posture, depth (--raw folder with Training/ and Testing/)"),
    "msra": ("data_prep.msra", "MSRA15 hand gestures, depth, leave-one-subject-out (--raw cvpr15_MSRAHandGestureDB)"),
}


def _top_level_help() -> str:
    width = max(map(len, DATASETS))
    lines = [f"  {name.ljust(width)}  {description}" for name, (_, description) in sorted(DATASETS.items())]
    return "usage: python -m data_prep <dataset> --out DIR [options]\n\ndatasets:\n" + "\n".join(lines) + (
        "\n\n`python -m data_prep <dataset> --help` lists a dataset's options.")


def _dataset_parser(name: str, module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"python -m data_prep {name}", description=DATASETS[name][1])
    parser.add_argument("--out", required=True, help="data directory to write the dataset under")
    parser.add_argument("--overwrite", action="store_true", help="regenerate even if the dataset is complete")
    module.add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_top_level_help())
        return 0 if argv else 2
    name = argv[0]
    if name not in DATASETS:
        print(f"data_prep: error: unknown dataset {name!r}; known datasets: {', '.join(sorted(DATASETS))}",
              file=sys.stderr)
        return 2
    module = importlib.import_module(DATASETS[name][0])
    args = _dataset_parser(name, module).parse_args(argv[1:])  # exits 2 on bad options
    start = time.perf_counter()
    try:
        result = module.prepare(args)
    except (ValueError, OSError, ImportError) as error:
        print(f"data_prep {name}: error: {error}", file=sys.stderr)
        return 1
    if result.created:
        print(f"data_prep {name}: wrote {result.path} in {time.perf_counter() - start:.1f} s")
    else:
        print(f"data_prep {name}: already complete at {result.path} (nothing to do; --overwrite regenerates)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
