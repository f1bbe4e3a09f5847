"""LCOM (Qi et al.): offline optimisation of a surrogate energy in a latent space, and its SL baseline.

``lcom`` and ``sl`` share one code path (``optimiser``) over a latent codec
(``codec``): the Crystal-LSBO Combined-VAE on the property tasks, the CD-VAE on
csp26. The trained surrogate is a prepare artifact (``artifact``).
"""
