"""The Punzi-loss network (EPJC 82, 121 (2022), arXiv:2110.00810) and its cross-entropy baseline, in PyTorch.

The loss. For each mass hypothesis j of a network's range, with the sigmoid output s(x) in [0, 1] used as
a per-event weight (a soft cut):

    eff_j = sum_{signal of j} w s / sum_{signal of j} w,   B_j = sum_{background in window j} w s,
    FOM_j = eff_j / (a/2 + sqrt(B_j)),                     loss = -sum_j FOM_j   (or -mean_j)

with B_j in expected events at the run's luminosity (``dataset`` scales each fold up to it) and a declared
``a``, 3 by default as in the paper (Punzi's a for a 3 sigma discovery / 90 % CL exclusion). For a score that
is exactly 0 or 1 this is the hard-cut Punzi FOM (``workflows/train/fom.py``), which is what the tests check.
The baseline is the same network on the same events (the range's signal + the background inside its
windows) trained with a weighted binary cross-entropy, signal hypotheses equally weighted and signal and
background normalised to the same total.

Why PyTorch (CPU) and not JAX + optax:
- install: the CPU wheel of torch 2.13 is one self-contained wheel (190 MB, 750 MB installed, no CUDA);
  jax + jaxlib + optax would be smaller (~100 MB), so install size alone favours JAX. It is acceptable here
  because the extra is optional (``pip install 'b2dark[train]'``) and no search needs it at run time
  (inference is ``processors/mva.py``, numpy only), and the pinned CPU wheel is what this environment has
  offline;
- speed on 2 cores: these networks are tens of units on up to ~10^6 events, full batch: a few small
  matrix products per epoch, which torch's eager CPU kernels run with no compilation step (JAX would jit
  first; its speed was not measured here). The toy of tests/test_punzi.py trains in about a second;
- determinism: ``torch.use_deterministic_algorithms(True)``, ``torch.manual_seed`` and a fixed
  ``torch.set_num_threads(2)`` make two trainings bit-identical on one machine (tested); everything is
  float64, so the numpy inference reproduces the training library's scores to ~1e-15.

Full-batch training (every event in each step): the FOM is a ratio of sums over the whole sample, so a
mini-batch gives a biased estimate of it; the paper trains on the full set too.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from processors.mva import ACTIVATIONS
from workflows.train import fom as fom_np
from workflows.train.dataset import RangeData

LossName = Literal["punzi", "bce"]
DTYPE = torch.float64


@dataclass(frozen=True)
class TrainConfig:
    loss: LossName = "punzi"
    a: float = fom_np.DEFAULT_A
    reduction: Literal["sum", "mean"] = "sum"
    hidden: tuple[int, ...] = (32, 32)
    activation: str = "relu"
    epochs: int = 300
    lr: float = 1e-2
    weight_decay: float = 0.0
    seed: int = 0
    threads: int = 2
    eval_every: int = 5  # validation objective every this many epochs; the best state is kept

    def __post_init__(self) -> None:
        if self.loss not in ("punzi", "bce"):
            raise ValueError(f"loss {self.loss!r}: punzi or bce")
        if self.activation not in ACTIVATIONS[:3]:
            raise ValueError(f"activation {self.activation!r}: one of {ACTIVATIONS[:3]}")
        if self.a < 0 or self.epochs < 1:
            raise ValueError("a must be >= 0 and epochs >= 1")


@contextmanager
def deterministic(seed: int, threads: int) -> Iterator[None]:
    """Seeded, deterministic torch on a fixed number of threads; the global settings are restored after."""
    was_det, was_threads = torch.are_deterministic_algorithms_enabled(), torch.get_num_threads()
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(was_det)
        torch.set_num_threads(was_threads)


_ACT = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Module):
    """Dense layers with one activation, a linear output unit: forward() gives the logit."""

    def __init__(self, n_in: int, hidden: tuple[int, ...], activation: str) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for n in hidden:
            layers += [nn.Linear(n_in, n, dtype=DTYPE), _ACT[activation]()]
            n_in = n
        layers.append(nn.Linear(n_in, 1, dtype=DTYPE))
        self.net = nn.Sequential(*layers)
        self.activation = activation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)

    def export_layers(self) -> list[dict[str, Any]]:
        """The layers as processors.mva reads them: weight (n_in, n_out), bias, activation."""
        lin = [m for m in self.net if isinstance(m, nn.Linear)]
        return [
            {
                "weight": m.weight.detach().numpy().T.tolist(),
                "bias": m.bias.detach().numpy().tolist(),
                "activation": self.activation if i < len(lin) - 1 else "linear",
            }
            for i, m in enumerate(lin)
        ]


# --------------------------------------------------------------------------- losses


def punzi_matrices(data: RangeData) -> tuple[torch.Tensor, torch.Tensor]:
    """(S, Bw), both (n, n_hyp): eff = s @ S and B = s @ Bw for a per-event score s."""
    n_h = len(data.hypotheses)
    onehot = (data.hyp[:, None] == np.arange(n_h)[None, :]).astype(np.float64)
    w_sig = onehot * data.weight[:, None]
    s = w_sig / w_sig.sum(axis=0, keepdims=True)
    bw = data.window * data.weight[:, None]
    return torch.as_tensor(s, dtype=DTYPE), torch.as_tensor(bw, dtype=DTYPE)


def punzi_fom(score: torch.Tensor, s_mat: torch.Tensor, b_mat: torch.Tensor, a: float) -> torch.Tensor:
    """Differentiable FOM_j = eff_j / (a/2 + sqrt(B_j)) per hypothesis (module doc)."""
    eff = score @ s_mat
    b = score @ b_mat
    # clamp: sqrt has an infinite slope at 0 (a window without background); the FOM is then eff / (a/2)
    return eff / (a / 2.0 + torch.sqrt(b.clamp_min(1e-12)))


def punzi_loss(
    score: torch.Tensor, s_mat: torch.Tensor, b_mat: torch.Tensor, a: float = fom_np.DEFAULT_A, reduction: str = "sum"
) -> torch.Tensor:
    f = punzi_fom(score, s_mat, b_mat, a)
    return -(f.sum() if reduction == "sum" else f.mean())


def bce_weights(data: RangeData) -> np.ndarray:
    """Per-event BCE weights: each hypothesis 1/(2 n_hyp) of the total, the background 1/2."""
    n_h = len(data.hypotheses)
    w = np.zeros_like(data.weight)
    for j in range(n_h):
        sj = data.hyp == j
        w[sj] = data.weight[sj] / data.weight[sj].sum() / (2 * n_h)
    bkg = data.hyp < 0
    if bkg.any():
        w[bkg] = data.weight[bkg] / data.weight[bkg].sum() / 2
    return w


def bce_loss(logit: torch.Tensor, label: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return (weight * nn.functional.binary_cross_entropy_with_logits(logit, label, reduction="none")).sum()


# --------------------------------------------------------------------------- training


def normalisation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation (1 for a constant feature) of the training inputs."""
    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


@dataclass
class Trained:
    layers: list[dict[str, Any]]
    mean: np.ndarray
    scale: np.ndarray
    best_epoch: int
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    model: MLP | None = None


class _Objective:
    """The loss of one fold, with its fixed matrices built once."""

    def __init__(self, data: RangeData, mean: np.ndarray, scale: np.ndarray, cfg: TrainConfig) -> None:
        self.x = torch.as_tensor((data.X - mean) / scale, dtype=DTYPE)
        self.cfg = cfg
        if cfg.loss == "punzi":
            self.s_mat, self.b_mat = punzi_matrices(data)
        else:
            self.label = torch.as_tensor((data.hyp >= 0).astype(np.float64), dtype=DTYPE)
            self.w = torch.as_tensor(bce_weights(data), dtype=DTYPE)

    def __call__(self, model: MLP) -> torch.Tensor:
        logit = model(self.x)
        if self.cfg.loss == "punzi":
            return punzi_loss(torch.sigmoid(logit), self.s_mat, self.b_mat, self.cfg.a, self.cfg.reduction)
        return bce_loss(logit, self.label, self.w)


def train_network(
    train: RangeData, val: RangeData, cfg: TrainConfig, progress: bool = False, desc: str = ""
) -> Trained:
    """Train one network on ``train``; the state with the best validation objective is returned."""
    from tqdm.auto import tqdm

    t0 = time.perf_counter()
    mean, scale = normalisation(train.X)
    with deterministic(cfg.seed, cfg.threads):
        model = MLP(train.X.shape[1], cfg.hidden, cfg.activation)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        f_train, f_val = _Objective(train, mean, scale, cfg), _Objective(val, mean, scale, cfg)
        best, best_epoch, best_state = math.inf, 0, {k: v.clone() for k, v in model.state_dict().items()}
        history: list[dict[str, float]] = []
        bar = tqdm(range(1, cfg.epochs + 1), desc=desc or cfg.loss, disable=not progress, leave=True)
        for epoch in bar:
            opt.zero_grad()
            loss = f_train(model)
            loss.backward()
            opt.step()
            if epoch % cfg.eval_every == 0 or epoch == cfg.epochs:
                with torch.no_grad():
                    v = float(f_val(model))
                lt = loss.item()
                history.append({"epoch": epoch, "train": lt, "validation": v})
                bar.set_postfix(loss=f"{lt:.5g}", val=f"{v:.5g}")
                if v < best:
                    best, best_epoch = v, epoch
                    best_state = {k: t.clone() for k, t in model.state_dict().items()}
        model.load_state_dict(best_state)
    return Trained(layers=model.export_layers(), mean=mean, scale=scale, best_epoch=best_epoch, history=history,
                   seconds=time.perf_counter() - t0, model=model)  # fmt: skip


def torch_score(model: MLP, x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The training library's score of raw features ``x`` (n, n_features): the reference for processors.mva."""
    with torch.no_grad():
        return torch.sigmoid(model(torch.as_tensor((x - mean) / scale, dtype=DTYPE))).numpy()
