"""Orbax checkpoints of the train state in `<workdir>/checkpoints`.

Saves are asynchronous (training continues while the previous state is written)
and atomic (orbax writes to a temporary directory and renames), so a run killed at
any moment resumes from the last complete checkpoint. The data pipeline is a
deterministic function of the step, so the step is all the data position needed.
"""

from __future__ import annotations

import pathlib

import jax
import orbax.checkpoint as ocp

from jaxhands.training.state import TrainState


class Checkpointer:
    def __init__(self, workdir: str | pathlib.Path, *, max_to_keep: int = 3, save_interval_steps: int = 1000,
                 async_save: bool = True, keep_steps: tuple[int, ...] = ()):
        """keep_steps: checkpoints kept whatever max_to_keep says (the stage ends of a staged
        schedule), besides the latest max_to_keep."""
        self.directory = pathlib.Path(workdir).absolute() / "checkpoints"
        if keep_steps:
            from orbax.checkpoint import checkpoint_managers

            keep = {"preservation_policy": checkpoint_managers.AnyPreservationPolicy([
                checkpoint_managers.LatestN(max_to_keep), checkpoint_managers.CustomSteps(list(keep_steps))])}
        else:
            keep = {"max_to_keep": max_to_keep}
        options = ocp.CheckpointManagerOptions(
            save_interval_steps=save_interval_steps, create=True, enable_async_checkpointing=async_save, **keep)
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, state: TrainState, *, force: bool = False, config_json: dict | None = None) -> bool:
        step = int(jax.device_get(state.step))
        items = {"state": ocp.args.StandardSave(state)}
        if config_json is not None:
            items["config"] = ocp.args.JsonSave(config_json)
        return self.manager.save(step, args=ocp.args.Composite(**items), force=force)

    def restore(self, abstract_state: TrainState, step: int | None = None) -> TrainState:
        """Restores into the structure, dtypes and shardings of `abstract_state`
        (e.g. `jax.eval_shape` of the initial state, with shardings attached)."""
        step = self._existing_step(step)
        restored = self.manager.restore(step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state)))
        return restored["state"]

    def restore_subset(self, abstract: dict, step: int | None = None) -> dict:
        """Restores only the train-state fields named in `abstract` (e.g. params,
        model_state and step for prediction; the optimizer state is never read), into its
        dtypes and shardings. ValueError if `step` was not saved."""
        step = self._existing_step(step)
        restore_args = ocp.checkpoint_utils.construct_restore_args(abstract)
        restored = self.manager.restore(step, args=ocp.args.Composite(
            state=ocp.args.PyTreeRestore(item=abstract, restore_args=restore_args, partial_restore=True)))
        return restored["state"]

    def _existing_step(self, step: int | None) -> int:
        steps = sorted(self.manager.all_steps())
        if not steps:
            raise FileNotFoundError(f"no checkpoint in {self.directory}; train first")
        if step is None:
            return steps[-1]
        if step not in steps:
            raise ValueError(f"no checkpoint at step {step} in {self.directory}; saved steps: {steps}")
        return step

    def reached_preemption(self, step: int) -> bool:
        """True on every process at the step the processes agreed to save at after one of
        them got a preemption notice (JAX's preemption sync manager; False without
        jax.distributed). Must be called at every step by every process."""
        return self.manager.reached_preemption(step)

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
