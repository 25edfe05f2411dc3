"""Preprocessing shared by the tasks: validation splits, scaling, whitening, on-device
augmentation. Statistics are always computed on the training split only."""

from __future__ import annotations

import torch
from torch import Tensor

#: The validation split is drawn with this fixed seed, not the run's: every run of a task sees
#: the same split, so learning rates chosen on it are comparable across activations and seeds.
SPLIT_SEED = 0


def split_validation(x: Tensor, y: Tensor, size: int) -> tuple[tuple[Tensor, Tensor], ...]:
    """Hold out `size` examples of (x, y) (a fixed permutation) → ((train_x, train_y), (val…))."""
    if not 0 < size < len(x):
        raise ValueError(f"a validation split of {size} needs more than {len(x)} examples")
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val, train = order[:size], order[size:]
    return (x[train], y[train]), (x[val], y[val])


def head(x: Tensor, y: Tensor, n: int | None) -> tuple[Tensor, Tensor]:
    """The first `n` examples of a fixed permutation (all of them when n is None)."""
    if n is None or n >= len(x):
        return x, y
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))[:n]
    return x[order], y[order]


def unit_range(x: Tensor) -> Tensor:
    """uint8 pixels → float32 in [0, 1]; float inputs pass through as float32."""
    return x.float() / 255 if x.dtype == torch.uint8 else x.float()


def centered_pixels(x: Tensor) -> Tensor:
    """(x − 127.5) / 128, the GELU paper's CIFAR scaling (its code, cifar10 CNN)."""
    return (x.float() - 127.5) / 128


def channel_stats(train: Tensor) -> tuple[Tensor, Tensor]:
    """Per-channel mean and std of an NCHW (or N×D) training tensor."""
    dims = [0, 2, 3] if train.dim() == 4 else [0]
    shape = (1, -1, 1, 1) if train.dim() == 4 else (1, -1)
    return train.mean(dims).view(shape), train.std(dims).clamp_min(1e-8).view(shape)


def zca_matrix(train: Tensor, epsilon: float = 1e-2) -> tuple[Tensor, Tensor]:
    """ZCA whitening (Bell & Sejnowski 1997; the GELU paper's CIFAR-10 CNN): returns the mean
    and W = U (S + ε)^{-1/2} Uᵀ of the flattened training images, computed in float64."""
    flat = train.reshape(len(train), -1).double()
    mean = flat.mean(0, keepdim=True)
    centered = flat - mean
    n, d = centered.shape
    if n >= d:
        eigenvalues, vectors = torch.linalg.eigh(centered.T @ centered / n)
        inv_sqrt = (eigenvalues.clamp_min(0) + epsilon).rsqrt()
        return mean.float(), ((vectors * inv_sqrt) @ vectors.T).float()
    # Fewer images than pixels (a smoke subsample): the covariance has rank < n, and its
    # eigenvectors come from the n×n Gram matrix, G = C Cᵀ/n = V Λ Vᵀ, U = Cᵀ V Λ^{-1/2}/√n;
    # off their span W acts as ε^{-1/2}. Exact, and 3072² → n² in the eigensolver.
    eigenvalues, v = torch.linalg.eigh(centered @ centered.T / n)
    keep = eigenvalues > eigenvalues.max() * 1e-12
    eigenvalues, v = eigenvalues[keep], v[:, keep]
    u = centered.T @ v / (n * eigenvalues).sqrt()
    scale = (eigenvalues + epsilon).rsqrt() - epsilon**-0.5
    matrix = (u * scale) @ u.T + torch.eye(d, dtype=u.dtype) * epsilon**-0.5
    return mean.float(), matrix.float()


def apply_zca(x: Tensor, mean: Tensor, matrix: Tensor, batch: int = 4096) -> Tensor:
    """Whiten `x` (N, C, H, W) with :func:`zca_matrix`'s mean and matrix, in batches."""
    out = torch.empty_like(x, dtype=torch.float32)
    for start in range(0, len(x), batch):
        flat = x[start : start + batch].reshape(-1, matrix.shape[0]).float() - mean
        out[start : start + batch] = (flat @ matrix).view(-1, *x.shape[1:])
    return out


# --- augmentation on the device, one random draw per example from the run's generator ---------


def random_crop_flip(pad: int = 4):
    """Zero-pad by `pad`, crop back at a random offset and flip half the images horizontally
    (He et al. 2016 §4.2; Zagoruyko & Komodakis 2016), batched on the tensors' device."""

    def augment(x: Tensor, generator: torch.Generator) -> Tensor:
        n, _, h, w = x.shape
        device = x.device
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))
        dy = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
        dx = torch.randint(0, 2 * pad + 1, (n,), generator=generator, device=device)
        flip = torch.rand(n, generator=generator, device=device) < 0.5
        rows = (dy[:, None] + torch.arange(h, device=device))[:, None, :, None]
        cols = torch.arange(w, device=device).expand(n, w)
        cols = torch.where(flip[:, None], cols.flip(1), cols) + dx[:, None]
        batch = torch.arange(n, device=device)[:, None, None, None]
        channel = torch.arange(x.shape[1], device=device)[None, :, None, None]
        return padded[batch, channel, rows, cols[:, None, None, :]]

    return augment


def gaussian_noise(sigma: float):
    """Add N(0, σ²) noise to the inputs during training (the GELU paper's CIFAR-10 CNN: σ=0.15)."""

    def augment(x: Tensor, generator: torch.Generator) -> Tensor:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        return x + sigma * noise

    return augment
