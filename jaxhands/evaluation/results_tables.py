"""README tables generated from the results files, so that the two never disagree.

    python -m jaxhands.evaluation.results_tables docs/results/crop_protocol_mlp2_depth.json ...

reads image -> 3D results files written by `benchmarks/image_pose_table.py` ({"command",
"rows": [...]}: one row per trained run with its baselines) and prints one Markdown table:
a row per run, a row per config over its seeds (mean ± half the range, which for two
seeds is their standard deviation), and the baselines of the shared test split (mean
pose, the articulation floor, the nearest training crop in pixels per input, untrained).
Ratios are to the mean pose. The baselines fit the run's labelled training records, so
semi-supervised runs (labelled_fraction < 1: a seeded subset) each have their own: then
every baseline row is shown per (fraction, seed) and each run's ratio is to its own mean
pose. Every figure is mean EPE in mm over visible joints (hand3d
EvalUtil), PA-EPE after per-hand similarity alignment, AUC of the 3D PCK curve over
20–50 mm, spread = prediction spread / ground-truth spread (~0: one constant pose), train
min = training wall-clock up to the evaluated step. A run is named by its config and the
fields in which it differed from that named config when measured (`differs_from_named`;
older rows: the `--config.X=Y` overrides of its first start, from its provenance); runs
differing in them are not pooled. A run (or a seed summary) within 5 % of the mean pose is marked as not
having learnt.

The README marks each generated table with the command that rebuilds it:

    <!-- generated: python -m jaxhands.evaluation.results_tables FILE ... -->
    | run | ... |
    <!-- end generated -->

and a test regenerates every marked table and compares; `--update README.md` rewrites them
all in place after a results file changes.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys
from typing import Sequence

HEADER = ("| run | steps | train min | mean EPE | × mean pose | PA-EPE | AUC 20–50 | spread | box ±10 % / ±20 % |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
# Config fields that do not change what a run learns (bookkeeping) or that the row already
# shows (seed; steps, its own column); every other field in which a run differs from its
# named config is written beside its name.
UNSHOWN_OVERRIDES = ("seed", "num_train_steps", "eval_every", "log_every", "checkpoint_every", "data_dir",
                     "max_checkpoints_to_keep", "keep_checkpoint_every")
# A run whose EPE is within this fraction of the mean pose's has not learnt (issue 26): its row
# says so, whatever its loss curve did.
NOT_LEARNT_RATIO = 0.95
NOT_LEARNT = " — **did not learn** (within 5 % of the mean pose)"
# The table may not run past its own end marker: an empty one ("-->\n<!-- end generated -->")
# must not take the text up to the next table's end as its own.
MARKER = re.compile(r"<!-- generated: python -m jaxhands\.evaluation\.results_tables (?P<files>[^>]*?) -->\n"
                    r"(?:(?P<table>(?:(?!<!-- end generated -->).)*?)\n)?<!-- end generated -->", re.S)
# Baselines of one test split agree to this many mm across files (they are deterministic).
_SAME_SPLIT_TOLERANCE_MM = 1e-6
_TRAINED_FIELDS = ("step", "mean_epe_mm", "pa_mean_epe_mm", "auc_20_50", "spread_ratio")


def load_rows(paths: Sequence[str | pathlib.Path]) -> list[dict]:
    """The runs of every file, in order; each row remembers its file (`_file`)."""
    rows = []
    for path in paths:
        path = pathlib.Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise FileNotFoundError(f"results file {path} does not exist") from None
        if not isinstance(data, dict) or not isinstance(data.get("rows"), list) or not data["rows"]:
            raise ValueError(f"{path}: expected a JSON object with a non-empty 'rows' list "
                             f"(benchmarks/image_pose_table.py --out)")
        for row in data["rows"]:
            missing = [k for k in ("name", "input", "seed", "trained", "untrained", "mean_pose", "mean_articulation",
                                   "pixel_nearest_neighbour") if k not in row]
            if missing:
                raise ValueError(f"{path}: a row lacks {missing} (run {row.get('workdir', '?')})")
            missing = [k for k in _TRAINED_FIELDS if k not in row["trained"]]
            if missing:
                raise ValueError(f"{path}: the 'trained' entry of run {row.get('workdir', '?')} lacks {missing}")
            rows.append(dict(row, _file=str(path)))
    return rows


def _shown_value(value) -> str:
    return f"{value:g}" if isinstance(value, float) else json.dumps(value)


def run_overrides(row: dict) -> str:
    """How the run differed from its named config, as "X=Y, ...", less UNSHOWN_OVERRIDES:
    the row's `differs_from_named` (every field, compared when the row was measured) where
    it has one, else the `--config.X=Y` overrides of the run's first start (its provenance);
    "" for rows with neither."""
    if "differs_from_named" in row:
        return ", ".join(f"{k}={_shown_value(v)}" for k, v in sorted(row["differs_from_named"].items())
                         if k.split(".")[0] not in UNSHOWN_OVERRIDES)
    provenance = row.get("provenance") or []
    argv = provenance[0].get("argv", []) if provenance else []
    shown = []
    for arg in argv:
        assignment = arg.removeprefix("--config.")  # "field.sub=value"
        field = assignment.split("=", 1)[0]
        if assignment != arg and field != assignment and field.split(".")[0] not in UNSHOWN_OVERRIDES:
            shown.append(assignment)
    return ", ".join(shown)


def _label(row: dict) -> str:
    overrides = run_overrides(row)
    return row["name"] + (f" ({overrides})" if overrides else "")


def _minutes(row: dict) -> str:
    seconds = row.get("training_seconds")
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _jitter(row: dict) -> str:
    boxes = [row[k]["mean_epe_mm"] for k in ("box_jitter_0.1", "box_jitter_0.2") if k in row]
    return " / ".join(f"{v:.2f}" for v in boxes)


def _training_set(row: dict) -> tuple:
    """What the row's baselines were fitted on: every training record, or the seeded
    labelled subset of a semi-supervised run (labelled_fraction < 1), which differs per seed."""
    fraction = row.get("labelled_fraction", 1.0)
    return ("all",) if fraction >= 1.0 else (fraction, row["seed"])


def _training_set_label(key: tuple) -> str:
    return "" if key == ("all",) else f" — fitted on seed {key[1]}'s {100 * key[0]:g} % labelled"


def _baseline_rows(rows: list[dict]) -> dict[tuple, dict]:
    """{training set: the first row measured on it}; rows on one training set must agree on
    the mean pose (it is deterministic), else they were measured on different test splits."""
    first: dict[tuple, dict] = {}
    for r in rows:
        ref = first.setdefault(_training_set(r), r)
        if abs(r["mean_pose"]["mean_epe_mm"] - ref["mean_pose"]["mean_epe_mm"]) > _SAME_SPLIT_TOLERANCE_MM:
            means = {f"{g['_file']} ({g.get('workdir', g['name'])})": g["mean_pose"]["mean_epe_mm"]
                     for g in (ref, r)}
            raise ValueError(f"the files were measured on different test splits (mean-pose EPE: {means}); "
                             f"one table compares runs on one split")
    return first


def _pm(values: Sequence[float], digits: int = 2) -> str:
    centre = sum(values) / len(values)
    half_range = (max(values) - min(values)) / 2
    return f"{centre:.{digits}f} ± {half_range:.{digits}f}"


def image_pose_markdown(rows: list[dict]) -> str:
    """The Markdown table of `rows` (load_rows), header included, no trailing newline."""
    baselines = _baseline_rows(rows)

    def base(r: dict) -> float:  # the mean pose of the run's own training set
        return baselines[_training_set(r)]["mean_pose"]["mean_epe_mm"]

    lines = [HEADER]
    for r in rows:
        t = r["trained"]
        flag = NOT_LEARNT if t["mean_epe_mm"] / base(r) >= NOT_LEARNT_RATIO else ""
        lines.append(f"| {_label(r)}, seed {r['seed']}{flag} | {t['step']} | {_minutes(r)} | {t['mean_epe_mm']:.2f} | "
                     f"{t['mean_epe_mm'] / base(r):.3f} | {t['pa_mean_epe_mm']:.2f} | {t['auc_20_50']:.3f} | "
                     f"{t['spread_ratio']:.2f} | {_jitter(r)} |")
    by_config: dict[tuple, list[dict]] = {}
    for r in rows:
        by_config.setdefault((_label(r), r["trained"]["step"]), []).append(r)
    for (label, step), group in by_config.items():
        if len(group) < 2:
            continue
        epe = [g["trained"]["mean_epe_mm"] for g in group]
        ratios = [g["trained"]["mean_epe_mm"] / base(g) for g in group]
        flag = NOT_LEARNT if max(ratios) >= NOT_LEARNT_RATIO else ""
        minutes = [g["training_seconds"] / 60 for g in group if g.get("training_seconds") is not None]
        lines.append(f"| **{label}, {len(group)} seeds**{flag} | {step} | "
                     f"{_pm(minutes, 1) if len(minutes) == len(group) else ''} | **{_pm(epe)}** | "
                     f"{_pm(ratios, 3)} | "
                     f"{_pm([g['trained']['pa_mean_epe_mm'] for g in group])} | "
                     f"{_pm([g['trained']['auc_20_50'] for g in group], 3)} | "
                     f"{_pm([g['trained']['spread_ratio'] for g in group])} | |")
    for key, r in baselines.items():
        mean_pose, articulation, own = r["mean_pose"], r["mean_articulation"], _training_set_label(key)
        lines.append(f"| mean pose{own} | – | | {base(r):.2f} | 1 | {mean_pose['pa_mean_epe_mm']:.2f} | "
                     f"{mean_pose['auc_20_50']:.3f} | 0 | |")
        lines.append(f"| articulation floor (mean hand fitted to each test hand, oracle viewpoint){own} | – | | "
                     f"{articulation['mean_epe_mm']:.2f} | {articulation['mean_epe_mm'] / base(r):.3f} | "
                     f"{articulation['pa_mean_epe_mm']:.2f} | {articulation['auc_20_50']:.3f} | | |")
        on_this_set = [g for g in rows if _training_set(g) == key]
        for modality in dict.fromkeys(g["input"] for g in on_this_set):
            nn = next(g["pixel_nearest_neighbour"] for g in on_this_set if g["input"] == modality)
            lines.append(f"| nearest training crop in pixels, {modality}{own} | – | | {nn['mean_epe_mm']:.2f} | "
                         f"{nn['mean_epe_mm'] / base(r):.3f} | {nn['pa_mean_epe_mm']:.2f} | "
                         f"{nn['auc_20_50']:.3f} | | |")
    untrained = [r["untrained"]["mean_epe_mm"] for r in rows]
    untrained_ratios = [r["untrained"]["mean_epe_mm"] / base(r) for r in rows]
    lines.append(f"| untrained | 0 | | {min(untrained):.2f}–{max(untrained):.2f} | "
                 f"{min(untrained_ratios):.3f}–{max(untrained_ratios):.3f} | | | | |")
    return "\n".join(lines)


def generated_tables(markdown: str) -> list[tuple[list[str], str]]:
    """[(files, table as written)] for every generated table marked in `markdown`."""
    return [(m.group("files").split(), m.group("table") or "") for m in MARKER.finditer(markdown)]


def update_markdown(markdown: str, root: str | pathlib.Path = ".") -> str:
    """`markdown` with every marked table regenerated from its files (paths relative to `root`)."""
    root = pathlib.Path(root)

    def regenerate(match: re.Match) -> str:
        files = match.group("files")
        table = image_pose_markdown(load_rows([root / f for f in files.split()]))
        return (f"<!-- generated: python -m jaxhands.evaluation.results_tables {files} -->\n{table}\n"
                f"<!-- end generated -->")

    return MARKER.sub(regenerate, markdown)


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--update"]:
        if len(args) != 2:
            raise SystemExit("usage: python -m jaxhands.evaluation.results_tables --update README.md")
        path = pathlib.Path(args[1])
        text = path.read_text()
        updated = update_markdown(text, path.parent)
        path.write_text(updated)
        print(f"{path}: {len(generated_tables(text))} generated tables, "
              f"{'rewritten' if updated != text else 'already current'}")
        return
    if not args:
        raise SystemExit("usage: python -m jaxhands.evaluation.results_tables RESULTS.json ... "
                         "| --update README.md")
    print(image_pose_markdown(load_rows(args)))


if __name__ == "__main__":
    main()
