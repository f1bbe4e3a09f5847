"""``sl``: LCOM without conservatism — the surrogate is fitted by plain supervised regression (LCOM §6, Table 1)."""

from __future__ import annotations

from crystalbench.methods.lcom.optimiser import LatentOptimiser


class Sl(LatentOptimiser):
    """The SL baseline: same latent space, surrogate architecture, optimiser and proposals as ``lcom``."""

    name = "sl"
