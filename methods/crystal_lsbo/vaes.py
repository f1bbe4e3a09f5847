"""The four Crystal-LSBO VAEs, each with its co-trained property predictor (Crystal-LSBO §4.1, App. A.3).

* ``LatticeVAE``: linear layers, 6 normalised lattice parameters -> 3-D latent.
* ``CoordinateVAE``: 1-D CNN over the site axis, (max_sites, 3) coordinates -> 16-D latent.
* ``ElementVAE``: 1-D CNN over the site axis, (max_sites, N_CLASSES) one-hot -> 16-D latent.
* ``CombinedVAE``: 1-D CNN over the concatenated part latents (3 + 16 + 16 = 35) -> 20-D latent.

Every VAE minimises eq. (4): reconstruction + β·KL + w·‖y − PP(z)‖², where y is
(formation energy, band gap), standardised. Rows without labels (LSBO proposals
during LCA retraining) are masked out of the property term.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.nn import functional as F

N_PROPERTIES = 2
"""Formation energy per atom and band gap."""


class PropertyPredictor(nn.Module):
    """MLP with ReLU: latent (B, d) -> standardised properties (B, N_PROPERTIES)."""

    def __init__(self, latent_dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                                 nn.Linear(hidden, N_PROPERTIES))

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class VAE(nn.Module):
    """Shared VAE machinery; subclasses define ``encoder``/``decoder`` and the reconstruction loss."""

    latent_dim: int

    def __init__(self, latent_dim: int, beta: float, w: float):
        super().__init__()
        self.latent_dim = latent_dim
        self.beta = beta
        self.w = w
        self.predictor = PropertyPredictor(latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Input batch -> (mean, log-variance), each (B, latent_dim)."""
        h = self.encoder(x)
        mean, logvar = h.chunk(2, dim=-1)
        return mean, logvar.clamp(-10.0, 10.0)

    def decode(self, z: Tensor) -> Tensor:
        """Latent (B, latent_dim) -> the decoder's raw output (see subclasses)."""
        return self.decoder(z)

    def reconstruction(self, x: Tensor, out: Tensor) -> Tensor:
        """Per-sample reconstruction loss, (B,)."""
        raise NotImplementedError

    def loss(self, x: Tensor, y: Tensor, labelled: Tensor, generator: torch.Generator) -> Tensor:
        """Mean over the batch of eq. (4); ``y`` (B, N_PROPERTIES), ``labelled`` (B,) bool."""
        mean, logvar = self.encode(x)
        z = mean + torch.randn(mean.shape, generator=generator) * (0.5 * logvar).exp()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)
        prop = (self.predictor(z) - y).pow(2).sum(-1) * labelled
        return (self.reconstruction(x, self.decode(z)) + self.beta * kl + self.w * prop).mean()

    def consistency(self, z_hat: Tensor) -> Tensor:
        """Latent-consistency loss ‖ẑ − enc(dec(ẑ))‖² per sample (B,) (App. A.1, eq. 5)."""
        return (z_hat - self.encode(self.decoder_to_input(self.decode(z_hat)))[0]).pow(2).sum(-1)

    def decoder_to_input(self, out: Tensor) -> Tensor:
        """Map a decoder output back to the encoder's input space (differentiably)."""
        return out


class LatticeVAE(VAE):
    """Linear VAE over normalised lattice parameters: x (B, 6), decode -> (B, 6)."""

    def __init__(self, latent_dim: int = 3, beta: float = 0.01, w: float = 1.0, hidden: int = 64):
        super().__init__(latent_dim, beta, w)
        self.encoder = nn.Sequential(nn.Linear(6, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                     nn.LeakyReLU(0.2), nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, hidden),
                                     nn.LeakyReLU(0.2), nn.Linear(hidden, 6))

    def reconstruction(self, x: Tensor, out: Tensor) -> Tensor:
        return (out - x).pow(2).sum(-1)


def _conv_block(c_in: int, c_out: int, stride: int) -> list[nn.Module]:
    return [nn.Conv1d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm1d(c_out), nn.LeakyReLU(0.2)]


def _deconv_block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.ConvTranspose1d(c_in, c_out, 4, stride=2, padding=1), nn.BatchNorm1d(c_out), nn.LeakyReLU(0.2)]


class SequenceVAE(VAE):
    """1-D CNN VAE over a (B, length, channels) sequence: two stride-2 conv blocks down, two up.

    ``length`` must be divisible by 4. The decoder returns (B, length, channels) raw values.
    """

    def __init__(self, length: int, channels: int, latent_dim: int, beta: float, w: float, width: int = 64):
        super().__init__(latent_dim, beta, w)
        if length % 4:
            raise ValueError(f"sequence length {length} must be divisible by 4")
        self.length, self.channels, self.width = length, channels, width
        flat = width * length // 4
        self.encoder = nn.Sequential(
            _Transpose(), *_conv_block(channels, width // 2, 1), *_conv_block(width // 2, width, 2),
            *_conv_block(width, width, 2), nn.Flatten(), nn.Linear(flat, 2 * latent_dim))
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, flat), nn.LeakyReLU(0.2), nn.Unflatten(1, (width, length // 4)),
            *_deconv_block(width, width), *_deconv_block(width, width // 2),
            nn.Conv1d(width // 2, channels, 3, padding=1), _Transpose())


class _Transpose(nn.Module):
    """(B, L, C) <-> (B, C, L)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.transpose(1, 2)


class CoordinateVAE(SequenceVAE):
    """Fractional coordinates (B, max_sites, 3); decode -> logits whose sigmoid is the coordinate."""

    def __init__(self, max_sites: int, latent_dim: int = 16, beta: float = 0.01, w: float = 1.0):
        super().__init__(max_sites, 3, latent_dim, beta, w)

    def reconstruction(self, x: Tensor, out: Tensor) -> Tensor:
        return (torch.sigmoid(out) - x).pow(2).sum((1, 2))

    def decoder_to_input(self, out: Tensor) -> Tensor:
        return torch.sigmoid(out)


class ElementVAE(SequenceVAE):
    """One-hot element classes (B, max_sites, n_classes); decode -> class logits of the same shape."""

    def __init__(self, max_sites: int, n_classes: int, latent_dim: int = 16, beta: float = 0.01, w: float = 1.0):
        super().__init__(max_sites, n_classes, latent_dim, beta, w)

    def reconstruction(self, x: Tensor, out: Tensor) -> Tensor:
        return F.cross_entropy(out.transpose(1, 2), x.argmax(-1), reduction="none").sum(-1)

    def decoder_to_input(self, out: Tensor) -> Tensor:
        return torch.softmax(out, dim=-1)


class CombinedVAE(SequenceVAE):
    """Concatenated standardised part latents (B, part_dim) -> the 20-D material latent space.

    The part latents are zero-padded to a multiple of 4 and treated as a one-channel sequence.
    """

    def __init__(self, part_dim: int, latent_dim: int = 20, beta: float = 0.01, w: float = 5.0):
        self.part_dim = part_dim
        super().__init__(-(-part_dim // 4) * 4, 1, latent_dim, beta, w, width=32)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        return super().encode(F.pad(x, (0, self.length - self.part_dim)).unsqueeze(-1))

    def decode(self, z: Tensor) -> Tensor:
        """Latent (B, latent_dim) -> part latents (B, part_dim)."""
        return super().decode(z).squeeze(-1)[:, : self.part_dim]

    def reconstruction(self, x: Tensor, out: Tensor) -> Tensor:
        return (out - x).pow(2).sum(-1)
