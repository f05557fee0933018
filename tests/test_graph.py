"""The vectorised crystal-graph builder against CHGNet's own converter."""
import time

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from ase_ftcalc.structures import bulk_2h
from ase_ftcalc.dft.sampling import perturbed
from ase_ftcalc.graph import atoms_to_crystal_graph
from ase_ftcalc.model import atoms_to_graph, predict_graphs


def _ws2_384():
    return perturbed(bulk_2h("WS2") * (8, 8, 1), np.random.default_rng(1), max_strain=0,
                     max_displacement=0.05)


def _outside():
    """Rattled 2H-MoS2 with every atom shifted by non-lattice vectors far outside [0, 1)."""
    atoms = perturbed(bulk_2h("MoS2"), np.random.default_rng(2), max_displacement=0.1)
    atoms.positions += np.array([-7.0, 3.5, 20.0]) + 2.3 * atoms.cell[0] - 3.2 * atoms.cell[2]
    frac = atoms.get_scaled_positions(wrap=False)
    assert (frac < 0).any() and (frac >= 1).any()
    return atoms


def _triclinic():
    rng = np.random.default_rng(3)
    cell = [[3.9, 0.2, 0.1], [0.9, 4.1, 0.3], [0.7, -1.1, 4.5]]
    return Atoms("CuAuCu", scaled_positions=rng.uniform(-0.3, 1.3, (3, 3)), cell=cell, pbc=True)


def _triclinic_cu():
    atoms = bulk("Cu", "fcc", a=3.6)
    atoms.set_cell(atoms.cell[:] @ np.array([[1, 0, 0], [0.3, 1, 0], [0.1, -0.2, 1.05]]),
                   scale_atoms=True)
    return atoms


CASES = {
    "ws2_384": _ws2_384,
    "mos2_6": lambda: bulk_2h("MoS2"),
    "cu_1": lambda: bulk("Cu"),
    "outside_cell": _outside,
    "triclinic": _triclinic,
    "triclinic_cu_1": _triclinic_cu,
}


def _edge_keys(graph):
    """(center, neighbor, image) per directed edge: index-free identity of each edge."""
    atom_graph = graph.atom_graph.numpy().astype(int)
    image = graph.neighbor_image.numpy().astype(int)
    return [(int(c), int(n), *map(int, s)) for (c, n), s in zip(atom_graph, image)]


def _graph_sets(graph):
    keys = _edge_keys(graph)
    d2u = graph.directed2undirected.numpy()
    u2d = graph.undirected2directed.numpy()
    pairs = {}
    for d, u in enumerate(d2u):
        pairs.setdefault(int(u), []).append(keys[d])
    assert all(d2u[u2d] == np.arange(len(u2d))), "undirected2directed must invert directed2undirected"
    angles = []
    for center, u1, d1, u2, d2 in graph.bond_graph.numpy().reshape(-1, 5):
        assert d2u[d1] == u1 and d2u[d2] == u2 and keys[d1][0] == keys[d2][0] == center
        angles.append((keys[d1], keys[d2]))
    return sorted(keys), sorted(tuple(sorted(v)) for v in pairs.values()), sorted(angles)


@pytest.mark.parametrize("name", list(CASES))
def test_same_graph_and_outputs_as_upstream(vanilla, name):
    net = vanilla.net
    atoms = CASES[name]()
    old = atoms_to_graph(net, atoms, builder="upstream")
    new = atoms_to_graph(net, atoms)

    assert len(new.atom_graph) == len(old.atom_graph) > 0
    assert len(new.undirected2directed) == len(old.undirected2directed)
    assert len(new.bond_graph) == len(old.bond_graph) > 0
    old_edges, old_pairs, old_angles = _graph_sets(old)
    new_edges, new_pairs, new_angles = _graph_sets(new)
    assert new_edges == old_edges
    assert new_pairs == old_pairs  # (i, j, S) with (j, i, -S), self-images included
    assert new_angles == old_angles
    assert np.array_equal(new.atomic_number.numpy(), old.atomic_number.numpy())
    np.testing.assert_allclose(new.atom_frac_coord.detach().numpy(),
                               old.atom_frac_coord.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(new.lattice.detach().numpy(), old.lattice.detach().numpy())
    assert new.composition == old.composition

    (r_old,) = predict_graphs(net, [old], forces=True, stress=True)
    (r_new,) = predict_graphs(net, [new], forces=True, stress=True)
    assert abs(r_new["energy"] - r_old["energy"]) / len(atoms) < 1e-5
    np.testing.assert_allclose(r_new["forces"], r_old["forces"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(r_new["stress_gpa"], r_old["stress_gpa"], rtol=0, atol=1e-3)
    np.testing.assert_allclose(r_new["magmoms"], r_old["magmoms"], rtol=0, atol=1e-5)


def test_self_image_bonds_pair_with_their_reverse():
    graph = atoms_to_crystal_graph(bulk("Cu"))
    keys = _edge_keys(graph)
    d2u = graph.directed2undirected.numpy()
    for u, d in enumerate(graph.undirected2directed.numpy()):
        (other,) = [e for e in np.flatnonzero(d2u == u) if e != d]
        c, n, *s = keys[d]
        assert keys[other] == (n, c, *(-np.array(s)))
    # 12 nearest neighbours within 3 Å: every ordered pair of distinct bonds is an angle.
    assert len(graph.bond_graph) == 12 * 11


def test_isolated_atoms_like_upstream(vanilla, capsys):
    net = vanilla.net
    atoms = Atoms("Cu3", positions=[[0, 0, 0], [2.5, 0, 0], [10, 10, 10]], cell=[20, 20, 20], pbc=True)
    # The network's converter raises by default, and so does the numpy builder through atoms_to_graph.
    with pytest.raises(ValueError, match="1 isolated atom"):
        atoms_to_graph(net, atoms, builder="upstream")
    with pytest.raises(ValueError, match="1 isolated atom"):
        atoms_to_graph(net, atoms)
    graph = atoms_to_crystal_graph(atoms, atom_graph_cutoff=6, graph_id="iso")
    assert "has 1 isolated atom(s)" in capsys.readouterr().err
    assert len(graph.atom_graph) == 2 and len(graph.bond_graph) == 0
    (res,) = predict_graphs(net, [graph], forces=True, stress=True)
    assert np.isfinite(res["energy"]) and np.allclose(res["forces"][2], 0)

    lone = atoms_to_crystal_graph(Atoms("Cu", cell=[20, 20, 20], pbc=True))
    assert capsys.readouterr().err
    (res,) = predict_graphs(net, [lone], forces=True, stress=True)
    assert np.isfinite(res["energy"])


def test_builder_checks(vanilla):
    with pytest.raises(ValueError, match="unknown graph builder"):
        atoms_to_graph(vanilla.net, bulk("Cu"), builder="nope")
    with pytest.raises(ValueError, match="periodic"):
        atoms_to_graph(vanilla.net, Atoms("Cu2", positions=[[0, 0, 0], [2.5, 0, 0]], cell=[9, 9, 9]))


def test_numpy_builder_is_faster(vanilla):
    atoms = _ws2_384()

    def best(builder, n=3):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            atoms_to_graph(vanilla.net, atoms, builder=builder)
            times.append(time.perf_counter() - t0)
        return min(times)

    assert best("numpy") < best("upstream") / 3
