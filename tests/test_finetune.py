import numpy as np
import pytest
import torch
from ase import units

from ase_ftcalc import FTCalculator, fine_tune, predict_batch
from ase_ftcalc.frames import validate_frames
from ase_ftcalc.metrics import parity_stats


def _force_stats(frames, calc):
    preds = predict_batch(frames, calc, stress=False)
    ref = np.concatenate([f.get_forces().ravel() for f in frames])
    return parity_stats(ref, np.concatenate([p["forces"].ravel() for p in preds]))


@pytest.fixture(scope="module")
def tuned(ws2_frames, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft") / "ws2.pt"
    result = fine_tune(ws2_frames, out, progress=False)  # paper defaults: 5 epochs, lr 1e-2, batch 4
    return result, out


def test_fine_tuning_beats_vanilla_on_held_out_frames(tuned, ws2_frames, vanilla):
    result, _ = tuned
    held_out = [ws2_frames[i] for i in result.split["test"] + result.split["val"]]
    assert result.n_test >= 1 and set(result.split["train"]).isdisjoint(result.split["test"])
    before = _force_stats(held_out, vanilla)
    after = _force_stats(held_out, result.calculator())
    assert after["mae"] < 0.8 * before["mae"]
    assert abs(after["slope_origin"] - 1) < abs(before["slope_origin"] - 1)
    # refitted element references put absolute energies on the DFT scale (GPAW differs from MP by eV/atom)
    e_err = [abs(p["energy"] - f.get_potential_energy()) / len(f)
             for p, f in zip(predict_batch(held_out, result.calculator(), stress=False), held_out)]
    assert np.mean(e_err) < 0.05
    assert set(result.element_reference_energies_ev) == {"W", "S"}


def test_saved_model_reloads_exactly(tuned, ws2_frames):
    result, path = tuned
    atoms = ws2_frames[-1].copy()
    in_memory, reloaded = result.calculator(), FTCalculator(path)
    atoms.calc = in_memory
    e, f, s = atoms.get_potential_energy(), atoms.get_forces(), atoms.get_stress()
    atoms.calc = reloaded
    assert atoms.get_potential_energy() == pytest.approx(e, abs=1e-6)
    assert np.abs(atoms.get_forces() - f).max() <= 1e-6
    assert np.abs(atoms.get_stress() - s).max() <= 1e-6
    meta = reloaded.metadata
    assert meta["training_data_sha256"] == validate_frames(ws2_frames).digest()
    assert meta["config"]["learning_rate"] == 1e-2 and meta["versions"]["chgnet"]
    assert "W" in meta["element_reference_energies_ev"]


def test_magmom_head_is_kept_without_magmom_labels(tuned, vanilla):
    result, _ = tuned
    assert torch.equal(result.net.site_wise.weight, vanilla.net.site_wise.weight)
    assert torch.equal(result.net.atom_embedding.embedding.weight, vanilla.net.atom_embedding.embedding.weight)
    assert not torch.equal(result.net.mlp.layers[-1].weight, vanilla.net.mlp.layers[-1].weight)


def _weights(net):
    return torch.cat([p.detach().ravel() for p in net.parameters()])


def test_same_seed_same_weights_and_resume_matches(ws2_frames, tmp_path):
    frames = ws2_frames[:12]
    kwargs = dict(epochs=3, progress=False, seed=3)
    first = fine_tune(frames, **kwargs)
    second = fine_tune(frames, **kwargs)
    assert torch.equal(_weights(first.net), _weights(second.net))

    out = tmp_path / "resumed.pt"

    def stop_after_first_epoch(row):
        if row["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fine_tune(frames, out, on_epoch_end=stop_after_first_epoch, **kwargs)
    assert not out.exists() and (tmp_path / "resumed.pt.checkpoints" / "last.pt").exists()
    resumed = fine_tune(frames, out, **kwargs)
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert torch.equal(_weights(resumed.net), _weights(first.net))
    assert not (tmp_path / "resumed.pt.checkpoints").exists()


def test_single_frame_trains_on_all_with_warning(ws2_frames):
    with pytest.warns(UserWarning, match="no validation"):
        result = fine_tune(ws2_frames[:1], epochs=1, progress=False)
    assert (result.n_train, result.n_val, result.n_test) == (1, 0, 0)


def test_stress_targets_follow_ase_convention(ws2_frames, vanilla):
    """Frames labelled by CHGNet itself (ASE units and sign) must be fitted with zero error."""
    from ase.calculators.singlepoint import SinglePointCalculator

    from ase_ftcalc.finetune import _targets, evaluate
    from ase_ftcalc.model import atoms_to_graph
    from ase_ftcalc.units import ase_stress_to_vasp_kbar

    labelled = []
    for atoms in ws2_frames[:4]:
        atoms = atoms.copy()
        atoms.calc = vanilla
        results = {k: atoms.calc.get_property(k, atoms) for k in ("energy", "forces", "stress")}
        atoms.calc = SinglePointCalculator(atoms, **results)
        labelled.append(atoms)
    frame_set = validate_frames(labelled)
    graphs = [atoms_to_graph(vanilla.net, a) for a in labelled]
    metrics = evaluate(vanilla.net, graphs, frame_set, range(4), stress=True)
    assert metrics["stress_gpa"]["mae"] < 1e-3 and metrics["forces_ev_per_a"]["mae"] < 1e-5
    # the same frame through upstream CHGNet's dataset convention (VASP kBar, pressure positive)
    from chgnet.data.dataset import StructureData
    from pymatgen.io.ase import AseAtomsAdaptor

    atoms = labelled[0]
    upstream = StructureData([AseAtomsAdaptor.get_structure(atoms)], energies=[0.0],
                             forces=[atoms.get_forces()], stresses=[ase_stress_to_vasp_kbar(atoms.get_stress())])
    _, upstream_targets = upstream[0]
    ours = _targets(frame_set, [0], stress=True, magmoms=False)[0]
    assert torch.allclose(upstream_targets["s"], ours["s"], atol=1e-5)
    assert ours["s"].numpy().trace() == pytest.approx(atoms.get_stress()[:3].sum() / units.GPa, rel=1e-5)
