"""What lcom and sl share: offline gradient descent on a trained surrogate in a latent space, then decode.

One proposal (LCOM §4.2, eq. 5): z₀ = encode(start), T steps
z ← z − η ∇_z Ê(z, c) on the surrogate, decode z_T, one oracle call. Every
oracle call the harness grants buys one such proposal; the optimisation itself
never calls the oracle.

Starts. Proposal k starts from member ``order[k mod n]`` of the problem's initial
labelled set, ``order`` a permutation drawn by the trial's generator: on csp26
that set is the seed's relaxed random start (n = 1); on the property tasks it is
the task's initial set (the ``n_initial`` best dataset crystals), so the start
is a dataset crystal drawn per seed, as COMs starts from the dataset's top
designs. The first proposal is exactly the paper's procedure. Once every member
has been used (k ≥ n: on csp26 from the second call on), z₀ is the start's
latent plus Gaussian noise of ``restart_noise`` standard deviations per
standardised latent coordinate: a restart from a perturbed start.

Decoding draws from a torch generator seeded by the trial's generator (the
CD-VAE's Langevin sampler is stochastic; the Combined-VAE's decoder is not).

``trace()`` keeps, per proposal: the start, the surrogate's prediction (task
units and direction) at each of the T + 1 points of the path, whether the decode
was valid, the oracle's value, and with ``path_every`` > 0 the CIFs of the
decoded path every ``path_every`` steps (to score the path with the oracle
afterwards, outside the budget: LCOM Fig. 2).
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from pymatgen.core import Structure

from crystalbench.api import ArtifactStore, Dataset, Method, ProblemView, TaskView, UserError, capabilities, to_cif
from crystalbench.methods.cdvae.config import CdvaeConfig
from crystalbench.methods.crystal_lsbo.latent_space import StackConfig
from crystalbench.methods.lcom.artifact import SurrogateConfig, load_latent, prepare_surrogate
from crystalbench.methods.lcom.descent import descend
from crystalbench.methods.lcom.surrogate import Surrogate
from crystalbench.methods.lcom.training import Conservatism


class LatentOptimiser(Method):
    """Gradient descent from a start's latent on a surrogate trained by ``prepare`` (loss chosen by the subclass)."""

    requires: ClassVar[frozenset[str]] = frozenset({capabilities.LABELLED_TRAINING_SET})

    def __init__(self, steps: int = 50, step_size: float = 0.05, restart_noise: float = 0.5, path_every: int = 0,
                 surrogate: dict | None = None, stack: dict | None = None, cdvae: dict | None = None):
        for name, value in (("steps", steps), ("path_every", path_every)):
            if value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if not step_size > 0:
            raise ValueError(f"step_size must be a positive number, got {step_size!r}")
        if not restart_noise >= 0:
            raise ValueError(f"restart_noise must be a non-negative number, got {restart_noise!r}")
        self.steps, self.step_size = steps, float(step_size)
        self.restart_noise, self.path_every = float(restart_noise), path_every
        self.surrogate_config = SurrogateConfig.from_params(surrogate)
        self.stack = dict(stack or {})
        self.cdvae = dict(cdvae or {})
        StackConfig.from_params(self.stack)  # a bad setting fails here, when the spec is read
        CdvaeConfig.from_params(self.cdvae)

    def conservatism(self) -> Conservatism | None:
        """The conservative term of the surrogate's loss; None trains it by plain regression."""
        return None

    @classmethod
    def prepare(cls, store: ArtifactStore, dataset: Dataset, params: dict, task: TaskView) -> Path:
        method = cls(**params)
        return prepare_surrogate(store, dataset, task, method.stack, method.cdvae, method.surrogate_config,
                                 method.conservatism())

    def setup(self, problem: ProblemView, artifact_dir: Path | None, rng: np.random.Generator) -> None:
        if artifact_dir is None:
            raise UserError(f"{self.name} needs its prepared surrogate artifact")
        self.problem, self.rng = problem, rng
        self.artifact_name = Path(artifact_dir).name
        self.surrogate = Surrogate.load(artifact_dir)
        self.latent = load_latent(artifact_dir)
        self.codec = self.latent.codec()
        usable = [i for i, s in enumerate(problem.initial_structures) if self.codec.encodable(s)]
        if not usable:
            raise UserError(f"{problem.name}: no initial structure can be encoded in the {self.latent.kind} space")
        self.starts = [usable[i] for i in rng.permutation(len(usable))]
        """Indices into ``problem.initial_structures``, in the order proposals use them."""
        structures = [problem.initial_structures[i] for i in self.starts]
        with torch.no_grad():
            self.start_latents = self.surrogate.standardise(self.codec.encode(structures))
        self.start_conditions = self.codec.condition(structures)
        self.decode_generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
        self.path_generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
        """Decodes of traced paths draw from their own stream: tracing leaves the proposals as they are."""
        self.proposals: list[dict] = []

    def ask(self, n: int) -> list[Structure | None]:
        """``n`` proposals, each T descent steps from its start's latent (see the module docstring)."""
        k = np.arange(len(self.proposals), len(self.proposals) + n)
        slot = k % len(self.starts)
        u0 = self.start_latents[slot].clone()
        restarted = k >= len(self.starts)
        if restarted.any():
            noise = self.rng.standard_normal((int(restarted.sum()), u0.shape[1]))
            u0[restarted] += self.restart_noise * torch.as_tensor(noise, dtype=torch.float32)
        c = self.start_conditions[slot]
        path = descend(self.surrogate, u0, c, self.steps, self.step_size)
        starts = [self.problem.initial_structures[self.starts[s]] for s in slot]
        structures = self.codec.decode(self.surrogate.latent(path.final), starts, self.decode_generator)
        predicted = self.surrogate.value(path.energies)
        for i, structure in enumerate(structures):
            start = self.starts[slot[i]]
            self.proposals.append({
                "start": start,
                "start_formula": self.problem.initial_structures[start].composition.reduced_formula,
                "start_value": float(self.problem.initial_values[start]),
                "restart": int(k[i] // len(self.starts)),
                "surrogate": predicted[:, i].tolist(),
                "decoded": structure is not None,
                **({"path_cifs": self._decoded_path(path.path[:, i], starts[i])} if self.path_every else {}),
            })
        return structures

    def _decoded_path(self, path: torch.Tensor, start: Structure) -> dict[str, str | None]:
        """CIFs of the path's points at steps 0, path_every, ..., and T (path (T + 1, latent_dim)); None: no crystal."""
        steps = sorted({*range(0, self.steps + 1, self.path_every), self.steps})
        decoded = self.codec.decode(self.surrogate.latent(path[steps]), [start] * len(steps), self.path_generator)
        return {str(step): to_cif(s) if s is not None else None for step, s in zip(steps, decoded)}

    def tell(self, structures: list[Structure | None], values: np.ndarray) -> None:
        """Offline methods learn nothing from the oracle; its values go into the trace beside the predictions."""
        for record, value in zip(self.proposals[-len(values):], values):
            record["oracle"] = float(value)

    def trace(self) -> dict:
        return {"surrogate_artifact": self.artifact_name, "latent": self.latent.kind, "steps": self.steps,
                "step_size": self.step_size, "direction": self.problem.direction, "proposals": self.proposals}
