"""Layered materials: bilayer stacking energies (sliding path, binding curve) and the mean disregistry error."""
