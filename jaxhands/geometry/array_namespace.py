"""Lets geometry functions run unchanged on numpy arrays and on jax arrays/tracers."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def namespace(*arrays):
    """`jax.numpy` if any argument is a jax array or tracer, else `numpy`."""
    return jnp if any(isinstance(a, jax.Array) for a in arrays) else np


def is_concrete(x) -> bool:
    """True for values whose contents can be inspected (not jit tracers)."""
    return not isinstance(x, jax.core.Tracer)


def check_last_dims(x, dims: tuple[int, ...], name: str, what: str) -> None:
    """Raises ValueError unless x.shape ends with `dims` (shapes are static under jit)."""
    shape = tuple(np.shape(x))
    if len(shape) < len(dims) or shape[len(shape) - len(dims):] != dims:
        raise ValueError(f"{name}: expected shape [..., {', '.join(map(str, dims))}] ({what}), got {shape}")


def check_finite(x, name: str) -> None:
    """Raises ValueError on NaN/Inf, for concrete inputs (skipped under jit tracing)."""
    if is_concrete(x) and not bool(np.all(np.isfinite(np.asarray(x)))):
        raise ValueError(f"{name}: contains non-finite values (NaN or Inf)")


def check_joints(x, num_joints: int, name: str, what: str, dims: tuple[int, ...] | None = None) -> None:
    """Raises ValueError unless x is [..., num_joints, D] (D in `dims` when given).

    The message names the array, what it should hold, the expected joint count and
    the count actually found, e.g. "joints: expected 21 joints (canonical layout) as
    [..., 21, D], got 14 (shape (8, 14, 3))".
    """
    shape = tuple(np.shape(x))
    if len(shape) < 2:
        raise ValueError(f"{name}: expected {num_joints} joints ({what}) as [..., {num_joints}, D], "
                         f"got an array of shape {shape}")
    if shape[-2] != num_joints:
        raise ValueError(f"{name}: expected {num_joints} joints ({what}) as [..., {num_joints}, D], "
                         f"got {shape[-2]} (shape {shape})")
    if dims is not None and shape[-1] not in dims:
        raise ValueError(f"{name}: expected coordinates of size {' or '.join(map(str, dims))} in the "
                         f"last axis, got {shape[-1]} (shape {shape})")


def require_at_least(values, minimum: float, message: str) -> None:
    """Raises ValueError(message) if a concrete `values` has an entry below `minimum`.

    Under jit (tracers) nothing is checked: callers clamp with `minimum` instead so a
    degenerate input gives finite, if meaningless, numbers rather than NaN.
    """
    if is_concrete(values):
        bad = np.asarray(values) < minimum
        if np.any(bad):
            raise ValueError(f"{message} ({int(np.sum(bad))} of {bad.size} entries below {minimum:g})")
