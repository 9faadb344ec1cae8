"""The training loop end to end on a tiny synthetic dataset: resume, NaN stop, eval."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxhands.training import experiment as experiment_lib
from jaxhands.training.loop import NonFiniteLossError, train
from tests.training.tiny_configs import tiny_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("datasets"))


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(state.params))]


def test_resumed_training_equals_uninterrupted(tmp_path, data_dir):
    config = tiny_config(data_dir)
    full = train(config, tmp_path / "full", progress=False)
    assert full.steps_run == 8
    first = train(config, tmp_path / "resumed", stop_after=4, progress=False)  # an interruption at step 4
    assert first.steps_run == 4
    second = train(config, tmp_path / "resumed", progress=False)  # the same command again
    assert second.steps_run == 4 and int(second.state.step) == 8
    for a, b in zip(leaves(full.state), leaves(second.state)):
        np.testing.assert_array_equal(a, b)
    # The metrics log reads as one run: the same steps, the same values.
    read = lambda d: [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    full_log, resumed_log = read(tmp_path / "full"), read(tmp_path / "resumed")
    assert [r["step"] for r in resumed_log] == [r["step"] for r in full_log]
    for a, b in zip(full_log, resumed_log):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-6)


def test_rerun_after_completion_trains_nothing(tmp_path, data_dir):
    config = tiny_config(data_dir, num_train_steps=2)
    train(config, tmp_path, progress=False)
    again = train(config, tmp_path, progress=False)
    assert again.steps_run == 0 and int(again.state.step) == 2


class _NaNAfterTwoSteps:
    """Wraps the cross-modal VAE; its loss turns NaN from step 2 on."""

    def __init__(self, config):
        from jaxhands.methods.base import Phase
        from jaxhands.methods.cross_modal import CrossModalVAE

        self.inner = CrossModalVAE(config)
        self.groups = self.inner.groups
        self.init, self.predict, self.phase_index = self.inner.init, self.inner.predict, self.inner.phase_index

        def poisoned(phase):
            def loss(params, model_state, batch, rng, step):
                value, aux = phase.loss(params, model_state, batch, rng, step)
                aux[0]["loss"] = jnp.where(step >= 2, jnp.nan, aux[0]["loss"])
                return jnp.where(step >= 2, jnp.nan, value), aux
            return Phase(phase.name, phase.groups, loss)
        self.phases = tuple(poisoned(p) for p in self.inner.phases)


def test_nan_loss_stops_with_step_and_term(tmp_path, data_dir):
    experiment_lib.build_method(tiny_config(data_dir))  # registers the built-in methods first
    experiment_lib.register_method("nan_after_two", _NaNAfterTwoSteps)
    config = tiny_config(data_dir, method="nan_after_two", checkpoint_every=2, log_every=4)
    with pytest.raises(NonFiniteLossError, match=r"step 2 in phase 'kp2d->kp3d', term 'loss'"):
        train(config, tmp_path, progress=False)
    from jaxhands.training.checkpoints import Checkpointer

    assert Checkpointer(tmp_path).latest_step() == 2  # the checkpoint before the NaN survives


def test_training_beats_untrained_model_in_eval(tmp_path, data_dir):
    from jaxhands import evaluate_workdir

    config = tiny_config(data_dir, num_train_steps=300, checkpoint_every=300, log_every=100, variant=1,
                         mlp_width=128)
    train(config, tmp_path, progress=False)
    trained = evaluate_workdir(tmp_path)
    untrained = evaluate_workdir(tmp_path, untrained=True)
    assert trained["num_samples"] == 40
    assert trained["mean_epe_mm"] < 0.6 * untrained["mean_epe_mm"], (trained["mean_epe_mm"], untrained["mean_epe_mm"])
    written = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert written["mean_epe_mm"] == pytest.approx(trained["mean_epe_mm"])
    assert len(written["pck"]["thresholds_mm"]) == len(written["pck"]["values"])
    assert 0.0 <= written["auc_20_50"] <= 1.0
    for figure in ("pck.png", "examples.png"):
        assert (tmp_path / "eval" / figure).stat().st_size > 1000, figure
    assert not (tmp_path / "eval" / "clouds.png").exists()  # this method decodes no cloud
    # Procrustes alignment only removes error; the spread says the model is not collapsed.
    assert written["pa_mean_epe_mm"] < written["mean_epe_mm"]
    assert 0.3 < written["spread_ratio"] < 2.0 and untrained["spread_ratio"] < written["spread_ratio"]
    assert written["crop"]["mode"] == "none" and written["crop"]["box_jitter"] == 0.0
    # An explicit checkpoint gets its own folder and leaves eval/ alone.
    at_step = evaluate_workdir(tmp_path, step=300)
    assert at_step["mean_epe_mm"] == pytest.approx(trained["mean_epe_mm"])
    assert (tmp_path / "eval_step300" / "metrics.json").is_file()
    with pytest.raises(ValueError, match="needs a hand crop"):
        evaluate_workdir(tmp_path, box_jitter=0.1)
