"""What the surrogate learns from: latents, conditions and task values of known crystals.

The task's labelled set (``TaskView.labelled_set``), encoded in the latent space:

* property tasks: every dataset crystal with a finite oracle value, as the task's
  own prepare step computed it (for formation energy, the proxy's prediction), so
  the offline methods (lcom, sl) model exactly the oracle the online ones query;
* csp26: the sub-optimal training structures of the compounds the CD-VAE was
  trained on, labelled with their energy per atom under the task's energy model;
  one set over all compounds, the composition entering as the condition c.

Crystals the codec cannot encode are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import groupby

import torch
from torch import Tensor

from crystalbench.api import Direction, LabelledSet, UserError
from crystalbench.methods.lcom.codec import LatentCodec

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


def training_set(labelled: LabelledSet, codec: LatentCodec) -> TrainingSet:
    """The encodable crystals of ``labelled``, encoded problem by problem in batches of ``ENCODE_BATCH``."""
    crystals = labelled.load()
    rows = [i for i, s in enumerate(crystals.structures) if codec.encodable(s)]
    if not rows:
        raise UserError(f"none of the {len(crystals.structures)} labelled crystals can be encoded")
    z, c = [], []
    for _, group in groupby(rows, key=lambda i: crystals.problems[i]):
        structures = [crystals.structures[i] for i in group]
        z += [codec.encode(structures[start : start + ENCODE_BATCH])
              for start in range(0, len(structures), ENCODE_BATCH)]
        c.append(codec.condition(structures))
    return TrainingSet(z=torch.cat(z), c=torch.cat(c),
                       values=torch.as_tensor(crystals.values[rows], dtype=torch.float32),
                       direction=labelled.direction, source=labelled.source)
