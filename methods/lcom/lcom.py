"""``lcom``: latent conservative objective models (LCOM §4; Trabucco et al. 2021's COMs in a latent space).

The surrogate is trained with the conservative loss (``training``): MSE plus an
α-weighted push-up of its prediction on latents its own gradient descent finds,
α adapted through the Lagrangian dual so the over-estimation gap stays near τ.
Optimisation and proposals as in ``optimiser``.
"""

from __future__ import annotations

from crystalbench.methods.lcom.optimiser import LatentOptimiser
from crystalbench.methods.lcom.training import Conservatism


class Lcom(LatentOptimiser):
    """LCOM. Parameters beyond ``LatentOptimiser``'s: the conservative term's settings.

    ``tau`` (1.0, LCOM App. C; the Fig. 4 ablation uses 0.5, 1, 5), initial
    ``alpha`` (1.0) and its learning rate ``alpha_lr`` (0.01) as in COMs, and
    ``adversarial_steps`` (50, LCOM App. C) of the same step size as the
    optimisation (COMs uses one step size for both).
    """

    name = "lcom"

    def __init__(self, tau: float = 1.0, alpha: float = 1.0, alpha_lr: float = 0.01, adversarial_steps: int = 50,
                 **common):
        super().__init__(**common)
        self._conservatism = Conservatism(tau=tau, alpha=alpha, alpha_lr=alpha_lr,
                                          adversarial_steps=adversarial_steps, step_size=self.step_size)

    def conservatism(self) -> Conservatism:
        return self._conservatism
