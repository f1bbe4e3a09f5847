"""CD-VAE (Xie et al. 2022) as LCOM uses it: a composition-conditioned crystal latent space, and the ``cdvae`` method.

``prepare_cdvae`` trains it once per content key; ``CdvaeModel`` encodes crystals
to latents and decodes latents with fixed atom types back to crystals.
"""

from crystalbench.methods.cdvae.artifact import prepare_cdvae
from crystalbench.methods.cdvae.model import CdvaeModel, default_device

__all__ = ["CdvaeModel", "default_device", "prepare_cdvae"]
