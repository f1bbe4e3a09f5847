"""Physics that tasks share: energy models (interatomic potentials, DFT), relaxations and formation energies.

A library for task plugins, like the contract's leaf modules: it imports the contract and
nothing of the engine, of a method or of a task (docs/architecture.md).
"""
