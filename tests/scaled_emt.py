"""A real calculator with known, scaled answers: EMT times a constant (energy, forces, stress)."""
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT


class ScaledEMT(Calculator):
    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, scale):
        super().__init__()
        self.scale, self.inner = scale, EMT()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        work = self.atoms.copy()
        work.calc = self.inner
        e = self.scale * work.get_potential_energy()
        self.results = {"energy": e, "free_energy": e, "forces": self.scale * work.get_forces(),
                        "stress": self.scale * work.get_stress()}
