"""FTCP-VAE baselines (Ren et al., Matter 2022; Crystal-LSBO §3.5, §5.2): ``ftcp_random`` and ``ftcp_local``.

representation: the FTCP matrix and its decoding; elements: the vocabulary and
elemental properties; vae: the model; training: data and fitting; latent_space:
the trained model with batched encode/decode; quality: latent metrics;
artifact: the content-addressed ``prepare`` step; ftcp_random, ftcp_local: the methods.
"""
