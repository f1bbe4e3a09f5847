"""Maps the repository's top-level folders into the one ``crystalbench`` import package.

``harness/``, ``methods/`` and ``tasks/`` keep their places in the tree
(docs/architecture.md) but install as ``crystalbench.harness`` etc., so an installed
crystalbench adds exactly one top-level import name. Everything else is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = ("harness", "methods", "tasks")

setup(
    packages=[*find_packages(include=["crystalbench", "crystalbench.*"]),
              *(f"crystalbench.{p}" for p in find_packages(include=[f"{f}*" for f in FOLDERS]))],
    package_dir={"crystalbench": "crystalbench", **{f"crystalbench.{f}": f for f in FOLDERS}},
)
