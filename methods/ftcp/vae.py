"""FTCP-VAE: 1-D convolutional VAE over FTCP matrices with a property-learning branch (Ren et al. 2022).

The architecture follows the FTCP reference model: the matrix's rows are the
convolution's length axis and its columns the channels. Encoder: three Conv1d
layers (32, 64, 128 filters; kernels 5, 3, 3; strides 2, 2, 1) each with batch
norm and LeakyReLU(0.2), a 1024-unit sigmoid layer, then μ and log σ² of the
latent. Decoder: the mirror image with transposed convolutions and a sigmoid
output (inputs are min-max scaled to [0, 1]). The property branch maps
ReLU(μ) through 128 → 32 → n_properties units with a sigmoid output (scaled
formation energy and band gap). The length is zero-padded to a multiple of 4
so that the two stride-2 layers invert exactly; the padding is cropped again.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

FILTERS = (32, 64, 128)
KERNELS = (5, 3, 3)
STRIDES = (2, 2, 1)
HIDDEN = 1024


def _conv_block(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv1d(c_in, c_out, kernel, stride, padding=kernel // 2), nn.BatchNorm1d(c_out),
                         nn.LeakyReLU(0.2))


def _deconv_block(c_in: int, c_out: int, kernel: int, stride: int) -> nn.Sequential:
    return nn.Sequential(
        nn.ConvTranspose1d(c_in, c_out, kernel, stride, padding=kernel // 2, output_padding=stride - 1),
        nn.BatchNorm1d(c_out), nn.ReLU())


class FTCPVAE(nn.Module):
    """Encoder, decoder and property branch over matrices of shape (batch, n_rows, n_channels)."""

    def __init__(self, n_rows: int, n_channels: int, latent_dim: int = 256, n_properties: int = 2):
        super().__init__()
        self.n_rows, self.n_channels, self.latent_dim = n_rows, n_channels, latent_dim
        self.padded_rows = -(-n_rows // 4) * 4
        self.map_size = self.padded_rows // 4
        f1, f2, f3 = FILTERS
        k1, k2, k3 = KERNELS
        s1, s2, s3 = STRIDES
        self.encoder = nn.Sequential(
            _conv_block(n_channels, f1, k1, s1), _conv_block(f1, f2, k2, s2), _conv_block(f2, f3, k3, s3),
            nn.Flatten(), nn.Linear(f3 * self.map_size, HIDDEN), nn.Sigmoid())
        self.mu = nn.Linear(HIDDEN, latent_dim)
        self.log_var = nn.Linear(HIDDEN, latent_dim)
        self.properties = nn.Sequential(nn.ReLU(), nn.Linear(latent_dim, 128), nn.ReLU(), nn.Linear(128, 32),
                                        nn.ReLU(), nn.Linear(32, n_properties), nn.Sigmoid())
        self.expand = nn.Sequential(nn.Linear(latent_dim, f3 * self.map_size), nn.ReLU())
        self.decoder = nn.Sequential(
            nn.BatchNorm1d(f3), _deconv_block(f3, f2, k3, s3), _deconv_block(f2, f1, k2, s2),
            nn.ConvTranspose1d(f1, n_channels, k1, s1, padding=k1 // 2, output_padding=s1 - 1), nn.Sigmoid())

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x (B, n_rows, n_channels) -> μ, log σ², each (B, latent_dim)."""
        x = F.pad(x, (0, 0, 0, self.padded_rows - self.n_rows)).transpose(1, 2)
        h = self.encoder(x)
        return self.mu(h), self.log_var(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (B, latent_dim) -> scaled matrices (B, n_rows, n_channels) in [0, 1]."""
        h = self.expand(z).view(-1, FILTERS[-1], self.map_size)
        return self.decoder(h).transpose(1, 2)[:, : self.n_rows]

    def predict_properties(self, mu: torch.Tensor) -> torch.Tensor:
        """μ (B, latent_dim) -> scaled properties (B, n_properties) in [0, 1]."""
        return self.properties(mu)

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Reparameterised pass with given standard-normal ``noise`` (B, latent_dim): (x̂, y_hat, μ, log σ²)."""
        mu, log_var = self.encode(x)
        z = mu + torch.exp(0.5 * log_var) * noise
        return self.decode(z), self.predict_properties(mu), mu, log_var


def vae_loss(x: torch.Tensor, x_hat: torch.Tensor, y: torch.Tensor, y_hat: torch.Tensor, mu: torch.Tensor,
             log_var: torch.Tensor, kl_weight: float, property_weight: float) -> torch.Tensor:
    """The reference loss: summed squared reconstruction + kl_weight · mean KL + property_weight · summed squared error.

    As in the FTCP code, reconstruction and property errors are summed over the
    batch while the KL term is averaged over batch and latent dimensions, so
    the KL term is weak and the latent space loosely regularised (the reason
    the Crystal-LSBO paper finds only 49 % of prior samples decode validly).
    """
    recon = torch.sum((x - x_hat) ** 2)
    kl = -0.5 * torch.mean(1 + log_var - mu**2 - torch.exp(log_var))
    prop = torch.sum((y - y_hat) ** 2)
    return recon + kl_weight * kl + property_weight * prop
