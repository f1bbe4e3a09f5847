"""Crystal-LSBO (Boyar et al. 2024): four VAEs over a P1 representation, LSBO in the Combined-VAE space.

``crystal_lsbo`` (Algorithm 1), ``crystal_lca_lsbo`` (Algorithm 2) and, on the
property tasks, ``random_search`` (``methods/random_search.py``) share one trained
stack, built once per content hash by ``prepare`` (see ``latent_space.py``).
"""
