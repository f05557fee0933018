"""End to end against experiment: NVT MD of Cu with EAM (Cu_u3.eam, native LAMMPS) -> MD-EXAFS (Cu K, FEFF8L)
-> MSE against the measured room-temperature Cu foil; the MD spectrum must beat the static crystal's by far."""
from pathlib import Path

import numpy as np
from ase.build import bulk

from benchmarks.exafs import MDExafs, md_exafs, read_experiment, static_exafs
from benchmarks.dynamics.md import read_snapshots
from benchmarks.dynamics.md_lammps import run_lammps_md

DATA = Path(__file__).resolve().parents[1] / "benchmarks" / "data" / "exafs"


def test_eam_md_exafs_matches_room_temperature_foil(tmp_path):
    cu = bulk("Cu", "fcc", a=3.615, cubic=True).repeat(3)        # Cu_u3.eam lattice constant
    md = run_lammps_md(cu, pair_commands=["pair_style eam", "pair_coeff * * Cu_u3.eam"], temperature_K=300.0,
                       equilibration_steps=2000, production_steps=2000, snapshot_stride=20,
                       trajectory=tmp_path / "cu.traj", progress=False)
    assert md.completed and md.n_snapshots == 100 and 250 < md.mean_temperature_K < 350
    frames = read_snapshots(tmp_path / "cu.traj")
    engine = MDExafs(cu, absorber="Cu", edge="K", rmax=5.2, nleg=4, folder=tmp_path / "feff")
    foil = read_experiment(DATA / "cu_metal_rt.xdi")
    dynamic = md_exafs(frames, engine=engine, experiment=foil)
    static = static_exafs(cu, engine=engine, experiment=foil)
    assert not dynamic.warnings
    d, s = dynamic.comparison, static.comparison
    assert d["mse_k2chi"] < 0.35 * s["mse_k2chi"], (d["mse_k2chi"], s["mse_k2chi"])
    assert d["mse_envelope"] < 0.35 * s["mse_envelope"], (d["mse_envelope"], s["mse_envelope"])
    # S0² of a good model of the foil is the usual 0.8-1.0; the static crystal needs a far smaller one
    assert 0.7 < d["s02"] < 1.1 and s["s02"] < d["s02"]
    # first-shell MSRD from the MD is what EXAFS fits of Cu at 300 K give (σ² ≈ 0.008 Å²): the damping of
    # k²χ between 5 and 15 Å⁻¹ then matches the foil's
    k = np.asarray(d["k"])
    env_model, env_foil = np.asarray(d["model_envelope"]), np.asarray(d["experiment_envelope"])
    for lo, hi in ((5, 8), (12, 15)):
        m = (k >= lo) & (k <= hi)
        assert abs(env_model[m].mean() / env_foil[m].mean() - 1) < 0.3, (lo, hi)
