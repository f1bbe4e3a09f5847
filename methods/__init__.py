"""Optimisers, one module per method family; importing this package registers them all."""

from methods import crystal_lsbo, database, random_search  # noqa: F401
from methods.cdvae import cdvae  # noqa: F401
from methods.ftcp import ftcp_local, ftcp_random  # noqa: F401
from methods.lcom import lcom, sl  # noqa: F401
