"""What the surrogate learns from: latents, conditions and task values of known crystals.

* Property tasks: every dataset crystal the Combined-VAE can encode, labelled with
  the task's oracle value as the task's own prepare step computed it
  (``dataset_values.npy``, the proxy's prediction for formation energy), so the
  offline methods (lcom, sl) model exactly the oracle the online ones query.
  Rows without a finite value (invalid crystals) are left out.
* csp26: the sub-optimal training structures of the compounds the CD-VAE was
  trained on (``tasks.csp.training_data``), labelled with their energy per atom
  under the same energy model; one set over all compounds, the composition
  entering as the condition c.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from crystalbench.api import ArtifactStore, Dataset, Direction, registry
from crystalbench.api.labelled import load_dataset_values
from crystalbench.methods.lcom.codec import LatentCodec
from crystalbench.tasks.csp.training_data import load_training_data, prepare_training_data

ENCODE_BATCH = 256


@dataclass(frozen=True)
class TrainingSet:
    """Known crystals in the latent space, with their task values."""

    z: Tensor
    """(N, latent_dim) posterior means."""
    c: Tensor
    """(N, condition_dim) surrogate conditions."""
    values: Tensor
    """(N,) task values (oracle units, the task's direction)."""
    direction: Direction
    source: str
    """The artifact the labels come from (its directory name: a content digest)."""
    known_values: np.ndarray
    """Every value that source holds (property tasks: all dataset rows, NaN for invalid ones), float64."""


def property_training_set(store: ArtifactStore, dataset: Dataset, task: str, codec: LatentCodec) -> TrainingSet:
    """Encoded dataset crystals with a finite oracle value of ``task`` (as its default-parameter prepare computes it)."""
    task_obj = registry.get_task(task)()
    task_dir = task_obj.prepare(store, dataset)
    values = load_dataset_values(task_dir, dataset)
    rows = [i for i in np.flatnonzero(np.isfinite(values)) if codec.encodable(dataset.structure(int(i)))]
    structures = dataset.structures(rows)
    z = torch.cat([codec.encode(structures[start : start + ENCODE_BATCH])
                   for start in range(0, len(structures), ENCODE_BATCH)])
    return TrainingSet(z=z, c=codec.condition(structures), values=torch.as_tensor(values[rows], dtype=torch.float32),
                       direction=task_obj.direction, source=task_dir.name, known_values=values)


def csp_training_set(store: ArtifactStore, codec: LatentCodec, compounds: Sequence[str],
                     energy_model: str) -> TrainingSet:
    """Encoded csp26 training structures of ``compounds``, labelled with ``energy_model`` energy per atom."""
    index_dir = prepare_training_data(store, energy_model, compounds)
    z, c, values = [], [], []
    for compound in compounds:
        data = load_training_data(index_dir, compound)
        structures = data.structures()
        z.append(codec.encode(structures))
        c.append(codec.condition(structures))
        values.append(torch.as_tensor(data.labels("energy_per_atom"), dtype=torch.float32))
    values = torch.cat(values)
    return TrainingSet(z=torch.cat(z), c=torch.cat(c), values=values, direction="min", source=Path(index_dir).name,
                       known_values=values.double().numpy())
