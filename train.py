"""Train a jaxhands experiment.

    python train.py                                  # default experiment (configs/default.py)
    python train.py --config configs/spurr18_2d_to_3d_var3.py --workdir workdirs/var3 \
        --config.num_train_steps=20                  # any config field can be overridden

Rerunning the same command on the same --workdir resumes from the latest checkpoint
with the same data order and random stream. Metrics: <workdir>/metrics.jsonl.
SIGTERM (scheduler preemption) or Ctrl-C stops after the current step with a checkpoint
at that step; the exit status is then 143 / 130, as for a process the signal killed.
Multi-host: see the README ("Pods and clusters"); pass --coordinator_address,
--num_processes and --process_id, or let jax auto-detect (SLURM, Open MPI, TPU pods).
"""

from __future__ import annotations

import logging
import os
import pathlib
import sys

from absl import app, flags
from ml_collections import config_flags

ROOT = pathlib.Path(__file__).resolve().parent
if str(ROOT) not in sys.path:  # configs/ is imported by the config files
    sys.path.insert(0, str(ROOT))

config_flags.DEFINE_config_file("config", str(ROOT / "configs" / "default.py"), "Experiment config file.",
                                lock_config=True)
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
FLAGS = flags.FLAGS


def main(argv):
    del argv
    # Our own progress at INFO; library chatter (orbax, tfds) only from WARNING up.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("jaxhands").setLevel(logging.INFO)
    from jaxhands.training.distributed import maybe_initialize_distributed

    maybe_initialize_distributed(
        coordinator_address=FLAGS.coordinator_address, num_processes=FLAGS.num_processes,
        process_id=FLAGS.process_id, auto=FLAGS.distributed, timeout_s=FLAGS.distributed_timeout_s,
        heartbeat_timeout_s=FLAGS.distributed_heartbeat_s)
    from jaxhands.training.loop import train
    from jaxhands.training.preemption import TrainingStopped

    config = FLAGS.config
    workdir = FLAGS.workdir or os.path.join("workdirs", config.get("name", "experiment"))
    try:
        result = train(config, workdir, progress=FLAGS.progress)
    except TrainingStopped as stop:
        print(stop, file=sys.stderr)
        sys.exit(stop.exit_status)
    summary = ", ".join(f"{k}={v:.4g}" for k, v in sorted(result.last_metrics.items()))
    logging.getLogger("jaxhands.train").info("done: %d steps in %.1fs; %s", result.steps_run, result.seconds, summary)
    print(f"workdir: {workdir}\nnext: python eval.py --workdir {workdir}")


if __name__ == "__main__":
    app.run(main)
