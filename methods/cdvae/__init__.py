"""CD-VAE (Xie et al. 2022) as LCOM uses it: a composition-conditioned crystal latent space, and the ``cdvae`` method.

``prepare_cdvae`` trains it once per content key; ``CdvaeModel`` encodes crystals
to latents and decodes latents with fixed atom types back to crystals.
"""

from methods.cdvae.artifact import prepare_cdvae
from methods.cdvae.model import CdvaeModel, default_device

__all__ = ["CdvaeModel", "default_device", "prepare_cdvae"]
