"""The GP + log-EI loop (methods/crystal_lsbo/bo.py): its refit schedule, determinism and that it optimises."""

import pytest
import torch

from crystalbench.methods.crystal_lsbo.bo import REFERENCE, BOSettings, LatentBO

FAST = BOSettings(num_restarts=2, raw_samples=64)


def objective(X: torch.Tensor) -> torch.Tensor:
    """A smooth bump with its maximum 0 at (1, ..., 1)."""
    return -((X - 1.0) ** 2).sum(-1)


def labelled(n: int, d: int = 3, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.rand(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 6 - 3
    return X, objective(X)


def lengthscale(bo: LatentBO, X: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    return bo.model(X, Y).covar_module.lengthscale.detach().clone()


def test_hyperparameters_are_held_between_refits_and_refitted_on_schedule():
    X, Y = labelled(20)
    bo = LatentBO(3, settings=BOSettings(refit_every=3))
    fitted = lengthscale(bo, X[:10], Y[:10])
    held = [lengthscale(bo, X[: 10 + k], Y[: 10 + k]) for k in (1, 2)]
    refitted = lengthscale(bo, X[:13], Y[:13])
    assert all(torch.equal(h, fitted) for h in held)
    assert not torch.allclose(refitted, fitted)


def test_the_reference_pattern_refits_at_every_call():
    X, Y = labelled(20)
    bo = LatentBO(3, settings=REFERENCE)
    first, second = lengthscale(bo, X[:10], Y[:10]), lengthscale(bo, X[:11], Y[:11])
    assert not torch.allclose(first, second)


def test_reset_refits_from_the_defaults():
    X, Y = labelled(20)
    fresh = LatentBO(3, settings=BOSettings(refit_every=100))
    reused = LatentBO(3, settings=BOSettings(refit_every=100))
    lengthscale(reused, X[10:], Y[10:])
    reused.reset()
    assert torch.allclose(lengthscale(reused, X[:10], Y[:10]), lengthscale(fresh, X[:10], Y[:10]))


@pytest.mark.parametrize("settings", [FAST, REFERENCE], ids=["incremental", "reference"])
def test_proposals_are_seeded_and_inside_the_box(settings):
    X, Y = labelled(15)
    a, b = (LatentBO(3, bound=2.0, settings=settings).propose(X, Y, seed=7) for _ in range(2))
    assert a.shape == (1, 3)
    assert torch.equal(a, b)
    assert bool((a.abs() <= 2.0).all())


def test_a_few_proposals_improve_on_the_initial_best():
    X, Y = labelled(10, seed=1)
    initial_best = float(Y.max())
    bo = LatentBO(3, settings=FAST)
    for i in range(8):
        z = bo.propose(X, Y, seed=i)
        X, Y = torch.cat([X, z]), torch.cat([Y, objective(z)])
    assert float(Y[10:].max()) > initial_best
