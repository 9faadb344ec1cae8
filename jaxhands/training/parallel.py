"""How the train step is spread over devices: `mesh` (default) or `pmap`.

Both compile the same pure step (jaxhands.training.step.make_train_step) and differ
only in placement:

- mesh: jax.jit over a Mesh with one `data` axis; parameters replicated, batches split
  on their first dimension; each process contributes its rows
  (`jax.make_array_from_process_local_data`). Batch norm statistics are computed
  over the global batch.
- pmap: jax.pmap over the local devices with axis `data`; the state carries a leading
  device axis, each device gets an equal slice of the process's rows, gradients and
  metrics are pmean-ed. Batch norm statistics are per-device slices averaged after the
  step (as in PyTorch DDP without SyncBN), so BN models differ slightly from mesh.

Checkpoints always hold one copy of the state in the mesh layout, so a run can be
resumed in either mode.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jaxhands.training import sharding
from jaxhands.training.step import PhaseDispatch, make_train_step


class MeshParallel:
    name = "mesh"

    def __init__(self, mesh=None):
        self.mesh = mesh or sharding.make_mesh()
        self.num_devices = self.mesh.size

    def place_state(self, state):
        return sharding.put_replicated(state, self.mesh)

    def checkpoint_state(self, state):
        return state

    def put_batch(self, local_batch: dict) -> dict:
        return sharding.put_batch(local_batch, self.mesh)

    def compile_step(self, method, optimizers, example_state) -> PhaseDispatch:
        """step(step_number, state, batch) -> (state, metrics): one jitted function per phase."""
        state_sharding = jax.tree.map(lambda x: x.sharding, example_state)
        return PhaseDispatch(method, [
            jax.jit(make_train_step(method, optimizers, phase=k), in_shardings=(state_sharding, sharding.batch_sharding(self.mesh)),
                    out_shardings=(state_sharding, None), donate_argnums=0)
            for k in range(len(method.phases))])

    def host_metrics(self, metrics):
        return metrics


class PmapParallel:
    name = "pmap"

    def __init__(self, mesh=None):
        self.mesh = mesh or sharding.make_mesh()
        self.devices = jax.local_devices()
        self.num_devices = jax.device_count()
        # pmap's per-device inputs: a leading axis split over this process's devices.
        self.local = NamedSharding(Mesh(np.asarray(self.devices), (sharding.DATA_AXIS,)), P(sharding.DATA_AXIS))

    def _stacked(self, x):
        return jax.device_put(x, self.local)

    def place_state(self, state):
        n = len(self.devices)
        host = jax.device_get(state)
        return jax.tree.map(lambda x: self._stacked(np.broadcast_to(np.asarray(x)[None], (n,) + np.shape(x))), host)

    def checkpoint_state(self, state):
        """One copy of the state, as mesh-replicated global arrays (what orbax saves)."""
        host = jax.device_get(jax.tree.map(lambda x: x[0], state))
        replicated = sharding.replicated(self.mesh)
        return jax.tree.map(lambda x: jax.make_array_from_callback(np.shape(x), replicated, lambda idx: np.asarray(x)[idx]),
                            host)

    def put_batch(self, local_batch: dict) -> dict:
        n = len(self.devices)
        out = {}
        for k, v in local_batch.items():
            v = np.asarray(v)
            if v.shape[0] % n:
                raise ValueError(f"pmap: the process's batch of {v.shape[0]} rows does not split over {n} local devices")
            out[k] = self._stacked(v.reshape((n, -1) + v.shape[1:]))
        return out

    def compile_step(self, method, optimizers, example_state) -> PhaseDispatch:
        return PhaseDispatch(method, [
            jax.pmap(make_train_step(method, optimizers, axis_name=sharding.DATA_AXIS, phase=k), axis_name=sharding.DATA_AXIS,
                     donate_argnums=0)
            for k in range(len(method.phases))])

    def host_metrics(self, metrics):
        return jax.tree.map(lambda x: x[0], metrics)


def make_parallel(name: str, mesh=None):
    if name == "mesh":
        return MeshParallel(mesh)
    if name == "pmap":
        return PmapParallel(mesh)
    raise ValueError(f"config.parallel must be 'mesh' or 'pmap', got {name!r}")
