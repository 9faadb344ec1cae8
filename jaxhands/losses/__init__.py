"""Pure loss functions: ELBO pieces, reconstruction, point-cloud distances.

Shapes, units and reductions are documented per function; every function is
jit/vmap-able and differentiable.
"""

from jaxhands.losses.elbo import (
    gaussian_nll,
    kl_diagonal_gaussians,
    kl_to_standard_normal,
    product_of_gaussian_experts,
    reparameterize,
)
from jaxhands.losses.emd import approx_emd, approx_emd_assignment, exact_emd, exact_emd_assignment, matched_cost
from jaxhands.losses.point_cloud import chamfer_distance
from jaxhands.losses.reconstruction import binary_cross_entropy_with_logits, mean_joint_error, squared_error

__all__ = [
    "approx_emd",
    "approx_emd_assignment",
    "binary_cross_entropy_with_logits",
    "chamfer_distance",
    "exact_emd",
    "exact_emd_assignment",
    "gaussian_nll",
    "kl_diagonal_gaussians",
    "kl_to_standard_normal",
    "matched_cost",
    "mean_joint_error",
    "product_of_gaussian_experts",
    "reparameterize",
    "squared_error",
]
