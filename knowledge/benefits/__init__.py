"""National and local benefits computed by OpenFisca-France (and openfisca-france-local).

situation.yml / situation.py: our facts -> an OpenFisca situation; simulator.py: one vectorised
simulation for a batch of households; engines.py: in-process or worker processes with a batcher;
outcome.py: the numbers -> eligible (estimated amount), not eligible, or to check.
"""
