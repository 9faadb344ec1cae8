"""Data parallelism through jax.sharding: one `data` mesh axis over all devices.

Parameters and optimizer state are replicated; every batch array is split along its
first (batch) dimension. Each process passes only its local rows, and
`jax.make_array_from_process_local_data` assembles the global batch, so the same
code runs on one CPU, one host with 8 accelerators, or many hosts.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

DATA_AXIS = "data"


def make_mesh(devices=None) -> Mesh:
    devices = np.asarray(jax.devices() if devices is None else devices)
    return Mesh(devices.reshape(-1), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA_AXIS))


def check_batch_size(global_batch_size: int, mesh: Mesh) -> None:
    if global_batch_size % mesh.size:
        raise ValueError(
            f"batch_size={global_batch_size} is not divisible by the number of devices ({mesh.size}); "
            f"choose a multiple of {mesh.size}")


def put_batch(local_batch: dict, mesh: Mesh) -> dict:
    """Process-local numpy batch (rows of this process) -> global jax arrays sharded on `data`."""
    sharding = batch_sharding(mesh)
    return {k: jax.make_array_from_process_local_data(sharding, np.asarray(v)) for k, v in local_batch.items()}


def put_replicated(tree, mesh: Mesh):
    return jax.device_put(tree, replicated(mesh))


def gather(tree, mesh: Mesh):
    """Fully replicates (all-gathers) global arrays so every process can read them on the host."""
    return jax.device_get(jax.jit(lambda t: t, out_shardings=replicated(mesh))(tree))
