"""Earth Mover's distance between equal-size point clouds (Yang et al. ICCV 2019, Eq. 9).

Yang et al.'s Eq. 9, for a ground-truth cloud P and a prediction P^ with |P| = |P^|:

    L_EMD = min_{phi: P -> P^ bijection} 1/|P| sum_{p in P} ||p - phi(p)||

i.e. the plain (NOT squared) Euclidean distance of the optimal one-to-one matching,
averaged over the points. That is the default here (``squared=False,
point_reduction="mean"``): metres for clouds in metres. ``squared=True`` matches with
and reports ||.||^2 (squared metres; the optimal bijection then differs in general).

Gradients: the assignment is computed on stop-gradient inputs and the cost is then
recomputed from the matched pairs, so the gradient is that of sum_i ||x_i - y_phi(i)||
with phi fixed, i.e. flows through the matched pairs only. Where the optimal bijection
is unique this is the exact gradient of the EMD (Danskin / envelope theorem).

Two solvers:
  * ``exact_emd``: scipy's ``linear_sum_assignment`` through ``jax.pure_callback``
    (float64 costs on the host). Exact; CPU host round-trip; the test reference.
  * ``approx_emd``: a forward auction (Bertsekas) with epsilon scaling, written with
    ``lax`` loops of static bounds, so it runs inside jit on any backend. Always
    returns a permutation: persons the bounded auction left unassigned are given free
    objects by a greedy completion. With all persons assigned by the auction the total
    cost is within N * eps_end of the optimum (eps-complementary slackness).

Units: costs and results are in the input unit (metres), squared for ``squared=True``.
Memory: the auction keeps the [N, N] cost matrix of every pair (batch * N^2 floats).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxhands.losses.point_cloud import BatchReduction, PointReduction, check_cloud, reduce_batch, safe_norm


class AuctionResult(NamedTuple):
    """Output of `auction_assignment` for one cost matrix (batched under vmap).

    assignment: [N] int32 permutation, row i is matched to column assignment[i].
    prices: [N] final column prices (the auction's dual variables).
    num_rounds: total bidding rounds run over all phases.
    num_completed: rows the bounded auction left unassigned and the greedy completion
      matched (0 means the eps-optimality bound N * eps_end holds).
    """

    assignment: jax.Array
    prices: jax.Array
    num_rounds: jax.Array
    num_completed: jax.Array


def pairwise_cost(x, y, squared: bool) -> jax.Array:
    """[..., N, 3] x [..., M, 3] -> [..., N, M] Euclidean (or squared) distances.

    Differences are formed directly (not |a|^2 + |b|^2 - 2ab) to keep small distances
    exact in float32.
    """
    return safe_norm(x[..., :, None, :] - y[..., None, :, :], squared)


def _bidding_round(cost, eps, state, num_bidders, free_only):
    """One Jacobi round: up to `num_bidders` unassigned rows bid at once.

    Row i bids for its cheapest column j1 under reduced cost cost[i] + prices and raises
    that price by (second cheapest - cheapest) + eps; each column accepts its highest bid
    (lowest row index on ties) and evicts its previous owner. With `free_only` (the
    greedy completion) rows only consider unowned columns, prices stay fixed and no one
    is evicted, so every round assigns at least one row.
    """
    assign, owner, prices, rounds = state
    n = cost.shape[0]
    rows = jnp.nonzero(assign == n, size=num_bidders, fill_value=n)[0]
    active = rows < n
    reduced = cost[jnp.minimum(rows, n - 1)] + prices[None, :]
    if free_only:
        reduced = jnp.where(owner[None, :] < n, jnp.inf, reduced)
    best_col = jnp.argmin(reduced, axis=1)
    best = jnp.take_along_axis(reduced, best_col[:, None], axis=1)[:, 0]
    if free_only:
        # Lower reduced cost wins a contested free column; the price itself is unchanged.
        bid = -best
    else:
        second = jnp.min(jnp.where(jnp.arange(n)[None, :] == best_col[:, None], jnp.inf, reduced), axis=1)
        bid = prices[best_col] + (second - best) + eps
    target = jnp.where(active, best_col, n)
    bid = jnp.where(active, bid, -jnp.inf)
    top_bid = jnp.full((n,), -jnp.inf, bid.dtype).at[target].max(bid, mode="drop")
    is_top = active & (bid == top_bid[jnp.minimum(target, n - 1)])
    winner = jnp.full((n,), n, jnp.int32).at[target].min(jnp.where(is_top, rows, n).astype(jnp.int32),
                                                           mode="drop")
    sold = winner < n
    assign = assign.at[jnp.where(sold, owner, n)].set(n, mode="drop")
    assign = assign.at[jnp.where(sold, winner, n)].set(jnp.arange(n, dtype=jnp.int32), mode="drop")
    owner = jnp.where(sold, winner, owner)
    if not free_only:
        prices = jnp.where(sold, top_bid, prices)
    return assign, owner, prices, rounds + 1


def _owners(assign, n):
    return jnp.full((n,), n, jnp.int32).at[assign].set(jnp.arange(n, dtype=jnp.int32), mode="drop")


def auction_assignment(cost, *, rel_tol: float = 0.002, num_phases: int = 6, eps_factor: float = 6.0,
                       max_rounds: int = 200, num_bidders: int | None = None) -> AuctionResult:
    """Approximately minimal-cost permutation of one square cost matrix [N, N].

    Forward auction (rows are persons, columns objects, benefit = -cost) with epsilon
    scaling: phase k uses eps_k = max(eps_0 / eps_factor^k, eps_end) with
    eps_0 = max(cost) / eps_factor and eps_end = rel_tol * L, where L is a lower bound
    on the optimal mean cost per row (the larger of the mean row-minimum and mean
    column-minimum of `cost`), so the auction's eps-optimality bound N * eps_end is at
    most `rel_tol` times the optimal total. Each phase keeps the previous assignment's
    rows that still satisfy eps_k-complementary slackness and runs at most `max_rounds`
    Jacobi rounds of up to `num_bidders` simultaneous bids (default: N // 4, at least 32).
    Rows still unassigned at the end are matched greedily to free columns by reduced
    cost (`num_completed` counts them), so the result is always a permutation.

    All loop bounds are static: jit/vmap-able on any backend; not differentiable (use
    it on stop-gradient costs and differentiate the matched cost).
    """
    cost = jnp.asarray(cost)
    if cost.ndim != 2 or cost.shape[0] != cost.shape[1]:
        raise ValueError(f"auction_assignment: expected a square cost matrix [N, N], got {cost.shape}")
    if not (0 < rel_tol < 1) or eps_factor <= 1 or num_phases < 1 or max_rounds < 1:
        raise ValueError("auction_assignment: need 0 < rel_tol < 1, eps_factor > 1, num_phases >= 1 and "
                         f"max_rounds >= 1, got {rel_tol}, {eps_factor}, {num_phases}, {max_rounds}")
    n = cost.shape[0]
    if n == 1:
        zero = jnp.zeros((), jnp.int32)
        return AuctionResult(jnp.zeros((1,), jnp.int32), jnp.zeros((1,), cost.dtype), zero, zero)
    num_bidders = min(n, num_bidders or max(32, n // 4))
    lower_bound = jnp.maximum(jnp.mean(jnp.min(cost, axis=1)), jnp.mean(jnp.min(cost, axis=0)))
    eps_0 = jnp.max(cost) / eps_factor
    # The floor keeps eps positive (and rounds finite) when the optimum is exactly 0.
    eps_end = jnp.maximum(rel_tol * lower_bound, 1e-6 * eps_0 + jnp.finfo(cost.dtype).tiny)
    rows = jnp.arange(n)

    def phase(k, state):
        assign, owner, prices, rounds = state
        eps = jnp.maximum(eps_0 / eps_factor ** k, eps_end)
        reduced = cost + prices[None, :]
        slack = reduced[rows, jnp.minimum(assign, n - 1)] - jnp.min(reduced, axis=1)
        assign = jnp.where((assign < n) & (slack <= eps), assign, n)
        state = (assign, _owners(assign, n), prices, rounds)
        first_round = rounds

        def unfinished(s):
            return jnp.any(s[0] == n) & (s[3] - first_round < max_rounds)

        return jax.lax.while_loop(unfinished, lambda s: _bidding_round(cost, eps, s, num_bidders, False), state)

    state = (jnp.full((n,), n, jnp.int32), jnp.full((n,), n, jnp.int32), jnp.zeros((n,), cost.dtype),
             jnp.zeros((), jnp.int32))
    assign, owner, prices, rounds = jax.lax.fori_loop(0, num_phases, phase, state)
    num_completed = jnp.sum(assign == n).astype(jnp.int32)
    assign, owner, prices, _ = jax.lax.while_loop(
        lambda s: jnp.any(s[0] == n),
        lambda s: _bidding_round(cost, 0.0, s, num_bidders, True),
        (assign, owner, prices, rounds))
    return AuctionResult(assign, prices, rounds, num_completed)
