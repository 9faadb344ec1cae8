"""Train a jaxhands experiment.

    python train.py                                  # the default experiment
    python train.py --config=spurr18_2d_to_3d_var3 --workdir=workdirs/var3 \
        --config.num_train_steps=20                  # any config field can be overridden
    python train.py --config=list                    # the named experiments (paper table rows)
    python train.py --config=my_config.py            # a file with get_config(), e.g. from base_config()

Rerunning the same command on the same --workdir resumes from the latest checkpoint
with the same data order and random stream. Metrics: <workdir>/metrics.jsonl and
TensorBoard files in <workdir>/tensorboard (`tensorboard --logdir workdirs/`);
`--profile=100:20` adds a profiler trace of steps 100-119 there.
SIGTERM (scheduler preemption) or Ctrl-C stops after the current step with a checkpoint
at that step; the exit status is then 143 / 130, as for a process the signal killed.
Multi-host: see the README ("Pods and clusters"); pass --coordinator_address,
--num_processes and --process_id, or let jax auto-detect (SLURM, Open MPI, TPU pods).
"""

from __future__ import annotations

import logging
import os
import sys

from absl import app, flags

from jaxhands.cli_logging import configure_cli_logging
from jaxhands.configs import ConfigError, describe_named, load_config, split_config_args

# --config=NAME|FILE.py[:arg]|WORKDIR and --config.field=value are parsed by
# jaxhands.configs (split_config_args, load_config) before absl sees the other flags.
flags.DEFINE_string("workdir", None, "Directory for checkpoints and metrics (default: workdirs/<config name>).")
flags.DEFINE_string("coordinator_address", None, "host:port of process 0, for multi-process runs.")
flags.DEFINE_integer("num_processes", None, "Number of processes of a multi-process run.")
flags.DEFINE_integer("process_id", None, "This process's index in a multi-process run.")
flags.DEFINE_integer("distributed_timeout_s", 300,
                     "Seconds to wait for the other processes before failing (no silent hang).")
flags.DEFINE_integer("distributed_heartbeat_s", 100,
                     "Seconds without a heartbeat after which the other processes treat one as dead and abort.")
flags.DEFINE_bool("distributed", False, "Call jax.distributed.initialize() with auto-detection (SLURM, MPI, TPU).")
flags.DEFINE_bool("progress", True, "Show a progress bar.")
flags.DEFINE_string("profile", None, "FIRST:COUNT: write a jax.profiler trace of COUNT steps from step FIRST "
                    "to <workdir>/tensorboard/plugins/profile (TensorBoard's profile tab; Perfetto reads "
                    "its trace.json.gz). Start after the first steps, which compile.")
FLAGS = flags.FLAGS


def parse_flags(argv):
    """absl flags_parser: (absl's leftover argv, the experiment config)."""
    try:
        spec, overrides, rest = split_config_args(argv[1:])
        remaining = FLAGS(argv[:1] + rest)
        if spec == "list":
            print(describe_named())
            sys.exit(0)
        return remaining, load_config(spec or "default", overrides)
    except ConfigError as err:
        print(f"train.py: {err}", file=sys.stderr)
        sys.exit(2)


def parse_profile(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    first, sep, count = text.partition(":")
    if not sep or not first.isdigit() or not count.isdigit() or int(count) < 1:
        print(f"train.py: --profile={text!r}: expected FIRST:COUNT, e.g. --profile=100:20", file=sys.stderr)
        sys.exit(2)
    return int(first), int(count)


def main(parsed):
    _, config = parsed
    profile = parse_profile(FLAGS.profile)
    configure_cli_logging()
    from jaxhands.training.distributed import maybe_initialize_distributed

    maybe_initialize_distributed(
        coordinator_address=FLAGS.coordinator_address, num_processes=FLAGS.num_processes,
        process_id=FLAGS.process_id, auto=FLAGS.distributed, timeout_s=FLAGS.distributed_timeout_s,
        heartbeat_timeout_s=FLAGS.distributed_heartbeat_s)
    from jaxhands.training.loop import train
    from jaxhands.training.preemption import TrainingStopped

    workdir = FLAGS.workdir or os.path.join("workdirs", config.name)
    from jaxhands.cli_errors import exit_on_user_errors

    try:
        with exit_on_user_errors("train.py", workdir):
            result = train(config, workdir, progress=FLAGS.progress, profile=profile)
    except TrainingStopped as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_status)
    summary = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.last_metrics.items()))
    logging.getLogger("jaxhands.train").info("done: %d steps in %.1fs; %s", result.steps_run, result.seconds, summary)
    if any(k.startswith("val/") for k in result.last_metrics):
        logging.getLogger("jaxhands.train").info(
            "val/* above: the first %d of the records held out of the training split (validation_fraction %g)%s",
            config.eval_num_batches * config.batch_size, config.validation_fraction,
            "; the best checkpoint by val/mean_epe_mm is kept: eval.py --step=best" if config.keep_best_checkpoint
            else "")
    if any(k.startswith("eval/") for k in result.last_metrics):  # why eval.py's number differs
        logging.getLogger("jaxhands.train").info(
            "eval/* above: a quick check on the first %d test samples (eval_num_batches x batch_size); "
            "eval.py scores the whole test split, so its numbers differ", config.eval_num_batches * config.batch_size)
    print(f"workdir: {workdir}\nnext: python eval.py --workdir {workdir}")


def run() -> None:
    """The `train` command (`python train.py` and the `jaxhands-train` entry point)."""
    # absl prints the __main__ module's docstring for --help: make it this one, whichever
    # wrapper (the top-level script or the console entry point) started the process.
    sys.modules["__main__"].__doc__ = __doc__
    app.run(main, flags_parser=parse_flags)


if __name__ == "__main__":
    run()
