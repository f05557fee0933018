"""Properties of a crystal per calculator: relaxed structure, elastic constants, phonons, equation of state,
ranking of vacancy/antisite configurations."""
