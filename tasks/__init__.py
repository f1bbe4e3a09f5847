"""Tasks, one module per task; importing this package registers them all."""

from tasks import electronegativity, formation_energy  # noqa: F401
from tasks.csp import task as csp26  # noqa: F401
