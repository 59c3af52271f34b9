import os

import pytest
import torch

from prodvae.train import checkpoint as ckpt
from prodvae.train.checkpoint import (
    check_identity,
    identity_digest,
    latest_checkpoint,
    list_checkpoints,
    load_weights,
    read_state,
    save_checkpoint,
)


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    return model


def _state(identity=None):
    identity = identity or {"model.backbone": "burgess"}
    return {
        "optimizer": {"lr": 0.1, "moments": torch.arange(3.0)},
        "rng": [{"torch": torch.get_rng_state(), "cuda": []}],
        "identity": identity,
        "identity_digest": identity_digest(identity),
    }


def test_round_trip_restores_weights_and_state(tmp_path):
    source = _model(0)
    path = save_checkpoint(tmp_path, 5, source, _state(), keep=3)
    target = _model(1)
    assert not torch.equal(target[0].weight, source[0].weight)
    state = read_state(path)
    load_weights(path, target, state)
    for a, b in zip(source.state_dict().values(), target.state_dict().values()):
        assert torch.equal(a, b)
    assert state["step"] == 5 and torch.equal(state["optimizer"]["moments"], torch.arange(3.0))
    assert (path / "model.safetensors").is_file() and (path / "state.pt").is_file()


def test_only_the_last_k_are_kept(tmp_path):
    model = _model(0)
    for step in (1, 2, 3, 4, 5):
        save_checkpoint(tmp_path, step, model, _state(), keep=2)
    assert [p.name for p in list_checkpoints(tmp_path)] == ["step_00000004", "step_00000005"]
    assert latest_checkpoint(tmp_path).name == "step_00000005"


def test_a_kill_during_the_write_leaves_the_previous_checkpoint(tmp_path, monkeypatch):
    model = _model(0)
    save_checkpoint(tmp_path, 1, model, _state(), keep=3)

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process is killed while writing state.pt

    monkeypatch.setattr(ckpt.torch, "save", die)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path, 2, _model(3), _state(), keep=3)
    monkeypatch.undo()
    # the half-written folder is not a checkpoint; the previous one still loads
    assert any(p.name.startswith(".tmp-step_00000002") for p in tmp_path.iterdir())
    latest = latest_checkpoint(tmp_path)
    assert latest.name == "step_00000001"
    restored = _model(7)
    load_weights(latest, restored, read_state(latest))
    assert torch.equal(restored[0].weight, model[0].weight)


def test_a_stale_temporary_folder_of_a_dead_process_is_cleaned(tmp_path):
    stale = tmp_path / ".tmp-step_00000009-999999"
    stale.mkdir()
    save_checkpoint(tmp_path, 1, _model(0), _state(), keep=3)
    assert not stale.exists()


def test_corrupt_weights_are_refused(tmp_path):
    path = save_checkpoint(tmp_path, 1, _model(0), _state(), keep=3)
    weights = path / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-3] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupt: model.safetensors fails its checksum"):
        load_weights(path, _model(0), read_state(path))


def test_corrupt_or_missing_state_is_refused(tmp_path):
    path = save_checkpoint(tmp_path, 1, _model(0), _state(), keep=3)
    state_file = path / "state.pt"
    state_file.write_bytes(state_file.read_bytes()[:40])
    with pytest.raises(ValueError, match="is corrupt"):
        read_state(path)
    os.remove(state_file)
    with pytest.raises(ValueError, match="state.pt is missing"):
        read_state(path)


def test_state_with_arbitrary_objects_is_not_unpickled(tmp_path):
    path = save_checkpoint(tmp_path, 1, _model(0), _state(), keep=3)
    torch.save({"format": 1, "evil": object()}, path / "state.pt")
    with pytest.raises(ValueError, match="is corrupt"):
        read_state(path)


def test_weights_of_another_architecture_are_refused(tmp_path):
    path = save_checkpoint(tmp_path, 1, _model(0), _state(), keep=3)
    other = torch.nn.Sequential(torch.nn.Linear(3, 4))
    with pytest.raises(ValueError, match="does not fit this model"):
        load_weights(path, other, read_state(path))


def test_checkpoint_of_another_config_is_refused(tmp_path):
    path = save_checkpoint(tmp_path, 1, _model(0), _state({"train.lr": 0.001}), keep=3)
    state = read_state(path)
    check_identity(path, state, {"train.lr": 0.001})
    with pytest.raises(ValueError, match=r"different config \(train.lr: 0.001 -> 0.1\)"):
        check_identity(path, state, {"train.lr": 0.1})


def test_a_config_equal_in_value_resumes_its_checkpoint(tmp_path):
    """Objective options written as given (``beta: 4``) by older runs load as their field's
    type now (``4.0``): the same config, so its checkpoints still resume."""
    old = {"objective.options": {"beta": 4, "label_map": {"0": 1}}}
    path = save_checkpoint(tmp_path, 1, _model(0), _state(old), keep=3)
    state = read_state(path)
    check_identity(path, state, {"objective.options": {"beta": 4.0, "label_map": {"0": 1}}})
    with pytest.raises(ValueError, match=r"objective.options: \{'beta': 4, "):
        check_identity(path, state, {"objective.options": {"beta": 4.5, "label_map": {"0": 1}}})


def test_tied_weights_survive_the_round_trip(tmp_path):
    torch.manual_seed(0)
    source = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    source[1].weight = source[0].weight  # shared storage: safetensors stores it once
    path = save_checkpoint(tmp_path, 1, source, _state(), keep=3)
    torch.manual_seed(1)
    target = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.Linear(3, 3))
    target[1].weight = target[0].weight
    load_weights(path, target, read_state(path))
    assert torch.equal(target[1].weight, source[0].weight)
    assert target[1].weight is target[0].weight


def test_running_statistics_of_normalised_loops_survive_the_round_trip(tmp_path):
    from prodvae.models import build_vae
    from prodvae.spaces import ProductSpace

    def vae(seed):
        torch.manual_seed(seed)
        space = ProductSpace.parse("loop(3, 0.5) * segment")
        return build_vae(space, "burgess", (1, 32, 32), width=4, hidden_dim=8, normalise_loops=True)

    source = vae(0)
    with torch.no_grad():
        source.encode(torch.rand(8, 1, 32, 32))  # moves the running statistics
    path = save_checkpoint(tmp_path, 1, source, _state(), keep=1)
    target = vae(1)
    load_weights(path, target, read_state(path))
    buffers = dict(target.named_buffers())
    for name, value in source.named_buffers():
        assert torch.equal(buffers[name], value)
    assert int(buffers["loop_norms.0.batches"]) == 1
