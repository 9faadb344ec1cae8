"""The training loop end to end on a tiny synthetic dataset: resume, NaN stop, eval."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxhands

from jaxhands.methods import registry
from jaxhands.training.loop import NonFiniteLossError, train
from jaxhands.training.tensorboard import TensorBoardWriter, board_tag, read_scalars
from tests.training.tiny_configs import tiny_config


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    return str(tmp_path_factory.mktemp("datasets"))


def leaves(state):
    return [np.asarray(x) for x in jax.tree.leaves(jax.device_get(state.params))]


def test_resumed_training_equals_uninterrupted(tmp_path, data_dir):
    """Interrupted between two log steps (at 3, log_every 2), as Ctrl-C or SIGTERM do: the
    saved half window is logged whole after the resume, and a stop at a log step is the
    simpler case of the same path."""
    interrupted_at = 3
    config = tiny_config(data_dir)
    full = train(config, tmp_path / "full", progress=False)
    assert full.steps_run == 8
    first = train(config, tmp_path / "resumed", stop_after=interrupted_at, progress=False)
    assert first.steps_run == interrupted_at
    # A value logged past the checkpoint (step 5, as a run that crashed after logging
    # leaves it) must be purged from TensorBoard by the resumed run's file.
    with TensorBoardWriter(tmp_path / "resumed") as board:
        board.scalars(5, {"loss": 999.0})
    second = train(config, tmp_path / "resumed", progress=False)  # the same command again
    assert second.steps_run == 8 - interrupted_at and int(second.state.step) == 8
    for a, b in zip(leaves(full.state), leaves(second.state)):
        np.testing.assert_array_equal(a, b)
    # The metrics log reads as one run: the same steps, the same values.
    read = lambda d: [json.loads(l) for l in (d / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    full_log, resumed_log = read(tmp_path / "full"), read(tmp_path / "resumed")
    assert [r["step"] for r in resumed_log] == [r["step"] for r in full_log]
    for a, b in zip(full_log, resumed_log):
        assert set(a) == set(b)
        for key in a:
            if key not in ("steps_per_sec", "samples_per_sec"):
                assert a[key] == pytest.approx(b[key], rel=1e-6), key
    # TensorBoard shows the same run: every logged scalar at every log step (float32).
    board = read_scalars(tmp_path / "resumed")
    names = set().union(*resumed_log) - {"step"}
    assert set(board) == {board_tag(n) for n in names} and board_tag("rgb->kp3d/recon") == "rgb_to_kp3d/recon"
    for name in names:
        values, logged = board[board_tag(name)], [r for r in full_log if name in r]
        assert [s for s, _ in values] == [r["step"] for r in logged], name
        if name not in ("steps_per_sec", "samples_per_sec"):
            np.testing.assert_allclose([v for _, v in values], [r[name] for r in logged], rtol=1e-6, err_msg=name)


def test_rerun_after_completion_trains_nothing(tmp_path, data_dir):
    config = tiny_config(data_dir, num_train_steps=2)
    train(config, tmp_path, progress=False)
    again = train(config, tmp_path, progress=False)
    assert again.steps_run == 0 and int(again.state.step) == 2


class _PoisonedAfterTwoSteps:
    """Wraps the cross-modal VAE; from step 2 on its loss turns NaN ("loss"), or the loss
    stays finite while its gradient does not ("grad": 0 * sqrt(0 * |theta|^2) is 0 with
    an infinite derivative, so the gradient is NaN)."""

    def __init__(self, config, kind):
        from jaxhands.methods.base import Phase
        from jaxhands.methods.cross_modal import CrossModalVAE

        self.inner = CrossModalVAE(config)
        self.groups, self.batch_fields = self.inner.groups, self.inner.batch_fields
        self.init, self.predict, self.phase_schedule = self.inner.init, self.inner.predict, self.inner.phase_schedule

        def poisoned(phase):
            def loss(params, model_state, batch, rng, step):
                value, aux = phase.loss(params, model_state, batch, rng, step)
                if kind == "loss":
                    aux[0]["loss"] = jnp.where(step >= 2, jnp.nan, aux[0]["loss"])
                    return jnp.where(step >= 2, jnp.nan, value), aux
                theta = jax.tree.leaves(params[phase.groups[0]])[0]
                # (not jnp.where(step >= 2, trap, 0): where's gradient would carry the NaN at every step)
                trap = 0.0 * jnp.sqrt(jnp.where(step >= 2, 0.0, 1.0) * (1.0 + jnp.sum(theta ** 2)))
                return value + trap, aux
            return Phase(phase.name, phase.groups, loss, stream=phase.stream)
        self.phases = tuple(poisoned(p) for p in self.inner.phases)


@pytest.mark.parametrize("kind, term", [("loss", "loss"), ("grad", "grad_norm")])
def test_non_finite_loss_or_gradient_stops_with_step_and_term(tmp_path, data_dir, kind, term):
    from jaxhands.training.checkpoints import Checkpointer

    registry.register_method(f"poisoned_{kind}", lambda config: _PoisonedAfterTwoSteps(config, kind))
    config = tiny_config(data_dir, method=f"poisoned_{kind}", checkpoint_every=2, log_every=4)
    with pytest.raises(NonFiniteLossError, match=rf"step 2 in phase 'kp2d->kp3d', term '{term}'"):
        train(config, tmp_path, progress=False)
    assert Checkpointer(tmp_path).latest_step() == 2  # the checkpoint before the NaN survives
    # The poisoned update was not applied: the last state in memory never held NaN either.
    run = jaxhands.load_run(tmp_path)
    assert all(np.isfinite(np.asarray(x)).all() for x in jax.tree.leaves(run.params))


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


class _DeviceSchedule:
    """alternating(2), but asks the device which phase runs (the pre-v2 way)."""

    def __init__(self, inner):
        self.inner = inner

    def index(self, step):
        return int(jnp.asarray(step, jnp.int32) % 2)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def _forbid_device_reads_in_steps(monkeypatch):
    """The loop runs each step under jax.transfer_guard_device_to_host("disallow"); on a
    CPU a device array already lives in host memory, so the guard never fires. Here the
    guard also makes every read of an array's value (int(), np.asarray, device_get all
    go through ArrayImpl._value) fail, so the test fails on a CPU where an accelerator
    would."""
    import contextlib

    from jax._src.array import ArrayImpl  # private, test-only: the one funnel of device -> host reads

    blocked = {"on": False}
    value = ArrayImpl._value

    def guarded_value(self):
        if blocked["on"]:
            raise AssertionError("a device -> host read inside a train step")
        return value.fget(self)

    @contextlib.contextmanager
    def guard(level):
        assert level == "disallow"
        blocked["on"] = True
        try:
            yield
        finally:
            blocked["on"] = False

    monkeypatch.setattr(ArrayImpl, "_value", property(guarded_value))
    monkeypatch.setattr(jax, "transfer_guard_device_to_host", guard)


def test_phase_is_chosen_without_a_device_round_trip(tmp_path, data_dir, monkeypatch):
    _forbid_device_reads_in_steps(monkeypatch)
    config = tiny_config(data_dir, num_train_steps=8, log_every=4)  # two alternating phases
    assert train(config, tmp_path / "host", progress=False).steps_run == 8

    def device_scheduled(config):
        from jaxhands.methods.cross_modal import CrossModalVAE

        method = CrossModalVAE(config)
        method.phase_schedule = _DeviceSchedule(method.phase_schedule)
        return method

    registry.register_method("device_scheduled", device_scheduled)
    with pytest.raises(AssertionError, match="device -> host read inside a train step"):
        train(tiny_config(data_dir, num_train_steps=8, log_every=4, method="device_scheduled"),
              tmp_path / "device", progress=False)
