"""Optimisers, one module per method family; importing this package registers them all."""

from methods import database  # noqa: F401
