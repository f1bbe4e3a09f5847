"""The GPAW judge: a NaCl single point (≈10–25 s on this machine) and its formation energy."""

from __future__ import annotations

import math

import pytest

from crystalbench.physics.energy_models import get_energy_model
from crystalbench.tasks.csp.compounds import reference
from crystalbench.tasks.csp.elemental_references import elemental_energies
from crystalbench.tasks.csp.formation import formation_energy_per_atom


def test_gpaw_single_point_of_nacl_is_finite():
    pytest.importorskip("gpaw", reason="GPAW is the optional `dft` extra")
    gpaw = get_energy_model("gpaw", device="cpu")
    (energy,) = gpaw.energy_per_atom([reference("NaCl").structure])
    assert math.isfinite(energy) and -4.0 < energy < -3.0
    assert {"Na", "Cl"} <= set(elemental_energies("gpaw")), "shipped GPAW references"
    assert formation_energy_per_atom(gpaw, reference("NaCl").structure, energy) < 0
