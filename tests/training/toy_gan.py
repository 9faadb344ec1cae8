"""A two-player method for the interface tests: a 1-D GAN on the wrist depth of the
training poses (metres), written against interface v2 the way Crossing Nets is.

    G(z) = b + a z, z ~ N(0, 1)                 group "gen"  (Adam, gen lr, beta1 0.5)
    D(x) = sigmoid(w (x - 0.5) + c)             group "disc" (Adam, disc lr, beta1 0.5)

Phases (each on the pose-only stream "poses"):
    0 "disc"  : BCE(D(x), 1) + BCE(D(G(z)), 0) + l2 w^2, G's output held fixed
    1 "gen"   : -log D(G(z)) (non-saturating), D held fixed
    2 "both"  : the two players' objectives in one phase (a simultaneous update): each
                term stops the gradient into the other player, so one jitted step moves
                both players exactly as two separate phases on the same batch would.
Schedule: toy_disc_warmup_steps of "disc" alone (the generator frozen), then
"alternating" (disc, gen, disc, gen, ...) or "simultaneous" ("both" every step).
A linear discriminator can only tell the means apart, so at equilibrium b = E[x].
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from jaxhands.configs import base_config
from jaxhands.methods.base import Phase
from jaxhands.methods.phase_schedule import staged
from jaxhands.training.optimizer import adam


def toy_gan_config():
    c = base_config()
    c.name = "toy_pose_gan"
    c.method = "tests.training.toy_gan:ToyPoseGAN"
    c.image_size, c.num_points = 32, 32
    c.synthetic_num_train, c.synthetic_num_test = 400, 40
    c.batch_size = 32
    c.num_train_steps = 300
    c.log_every = 10
    c.eval_every = 0
    c.checkpoint_every = 100
    c.max_checkpoints_to_keep = 10
    c.async_checkpointing = False
    c.toy_gan_mode = "alternating"  # or "simultaneous"
    c.toy_disc_warmup_steps = 20
    c.toy_gen_learning_rate = 0.01
    c.toy_disc_learning_rate = 0.05
    # L2 on the discriminator's slope: without it the two players circle the equilibrium
    # (the Dirac-GAN cycle, Mescheder et al. 2018) instead of settling on it.
    c.toy_disc_l2 = 1.0
    return c


def wrist_depth(batch):
    return batch["keypoints_3d"][:, 0, 2]


class ToyPoseGAN:
    groups = ("gen", "disc")
    batch_fields = ("keypoints_3d",)

    def __init__(self, config):
        self.config = config
        self.phases = (Phase("disc", ("disc",), self.disc_loss, stream="poses"),
                       Phase("gen", ("gen",), self.gen_loss, stream="poses"),
                       Phase("both", ("disc", "gen"), self.both_loss, stream="poses"))
        warmup = config.toy_disc_warmup_steps
        if config.toy_gan_mode == "alternating":
            self.phase_schedule = staged([((0,), warmup), ((0, 1), None)])
        elif config.toy_gan_mode == "simultaneous":
            self.phase_schedule = staged([((0,), warmup), ((2,), None)])
        else:
            raise ValueError(f"config.toy_gan_mode: 'alternating' or 'simultaneous', got {config.toy_gan_mode!r}")

    def optimizers(self, config):
        return {"gen": adam(config.toy_gen_learning_rate, b1=0.5),
                "disc": adam(config.toy_disc_learning_rate, b1=0.5)}

    def init(self, rng, batch):
        del rng, batch
        params = {"gen": {"b": jnp.zeros(()), "a": jnp.full((), 0.05)},
                  "disc": {"w": jnp.zeros(()), "c": jnp.zeros(())}}
        return params, {"gen": {}, "disc": {}}

    def generate(self, gen, rng, n):
        return gen["b"] + gen["a"] * jax.random.normal(rng, (n,))

    def _logit(self, disc, x):
        return disc["w"] * (x - 0.5) + disc["c"]

    def _disc_objective(self, params, batch, rng):
        real = wrist_depth(batch)
        fake = jax.lax.stop_gradient(self.generate(params["gen"], rng, real.shape[0]))
        return (optax.sigmoid_binary_cross_entropy(self._logit(params["disc"], real), 1.0).mean()
                + optax.sigmoid_binary_cross_entropy(self._logit(params["disc"], fake), 0.0).mean()
                + self.config.toy_disc_l2 * params["disc"]["w"] ** 2)

    def _gen_objective(self, params, batch, rng):
        fake = self.generate(params["gen"], rng, batch["keypoints_3d"].shape[0])
        disc = jax.lax.stop_gradient(params["disc"])
        return optax.sigmoid_binary_cross_entropy(self._logit(disc, fake), 1.0).mean()

    def _metrics(self, params, batch, rng, loss):
        fake = self.generate(params["gen"], rng, batch["keypoints_3d"].shape[0])
        return {"loss": loss, "gen_mean": fake.mean(), "data_mean": wrist_depth(batch).mean()}

    def disc_loss(self, params, model_state, batch, rng, step):
        loss = self._disc_objective(params, batch, rng)
        return loss, (self._metrics(params, batch, rng, loss), model_state)

    def gen_loss(self, params, model_state, batch, rng, step):
        loss = self._gen_objective(params, batch, rng)
        return loss, (self._metrics(params, batch, rng, loss), model_state)

    def both_loss(self, params, model_state, batch, rng, step):
        d, g = self._disc_objective(params, batch, rng), self._gen_objective(params, batch, rng)
        metrics = dict(self._metrics(params, batch, rng, d + g), disc_loss=d, gen_loss=g)
        return d + g, (metrics, model_state)

    def predict(self, params, model_state, batch):
        return batch["keypoints_3d"]  # a toy: it models one scalar, not poses
