"""Fixed-length signature for stage-1 search; rotation is handled by the similarity.

The processed surface is centred on the firing-pin aperture, so a rotation of the cartridge case
is a circular shift of its polar image. ``SIG_RINGS`` thin rings (single radii evenly spaced in
``SIG_R_MIN_UM .. SIG_R_MAX_UM``) are sampled, and each ring's angular profile is Fourier
transformed, keeping ``F_r(k)`` for k = 1 .. ``SIG_FREQS``. A rotation by ``t`` multiplies every
``F_r(k)`` by ``exp(-i k t)``. The signature stores ``F`` (real and imaginary parts, each
frequency block normalised to unit energy, then the whole vector L2-normalised: float32, length
``SIGNATURE_LENGTH`` = 256).

Similarity (:func:`signature_similarity`) is ``sum_k |<F^a_k, F^b_k>|`` over frequency blocks:
the modulus removes the unknown rotation phase, while the inner product over rings keeps the
spatial arrangement of the marks (a power spectrum would keep only texture statistics shared by
every firearm of a make). For a database it is one matrix product with ``2 * SIG_FREQS`` columns
(see :class:`~ballistics.imaging.index.SignatureIndex`).

Thin rings matter: averaging over wide rings blurs away the individual texture.
"""

from __future__ import annotations

import numpy as np

from ballistics.imaging.registration import polar

SIG_RINGS = 16
SIG_FREQS = 8
SIG_R_MIN_UM = 500.0
SIG_R_MAX_UM = 1900.0
SIG_N_THETA = 512
#: Length of every signature vector.
SIGNATURE_LENGTH = 2 * SIG_RINGS * SIG_FREQS


def ring_spectra(heights: np.ndarray, mask: np.ndarray, pixel_um: float) -> np.ndarray:
    """Angular Fourier coefficients ``F[k, r]`` of thin rings about the image centre.

    Returns
    -------
    numpy.ndarray
        complex, shape ``(SIG_FREQS, SIG_RINGS)``.
    """
    r_max = min(SIG_R_MAX_UM / pixel_um, min(heights.shape) / 2 - 2)
    r_min = SIG_R_MIN_UM / pixel_um
    vals, m = polar(heights, mask, r_min, r_max + 1, n_theta=SIG_N_THETA, smooth_px=1.0)
    want = np.linspace(r_min, SIG_R_MAX_UM / pixel_um, SIG_RINGS)
    rows = np.round(want - max(r_min, 1.0)).astype(int)
    prof = np.zeros((SIG_RINGS, SIG_N_THETA))
    ok = rows < vals.shape[0]
    prof[ok] = vals[rows[ok]] * m[rows[ok]]
    return np.fft.rfft(prof, axis=1)[:, 1:SIG_FREQS + 1].T


def signature_from_spectra(f: np.ndarray) -> np.ndarray:
    """Float32 vector ``[Re F (k-major), Im F (k-major)]``, per-k unit energy, L2-normalised."""
    f = f / (np.sqrt((np.abs(f) ** 2).sum(axis=1, keepdims=True)) + 1e-12)
    v = np.concatenate([f.real.ravel(), f.imag.ravel()]).astype(np.float32)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def compute_signature(heights: np.ndarray, mask: np.ndarray, pixel_um: float) -> np.ndarray:
    """Signature of a processed, aperture-centred surface (length :data:`SIGNATURE_LENGTH`)."""
    return signature_from_spectra(ring_spectra(heights, mask, pixel_um))


def query_matrix(q: np.ndarray) -> np.ndarray:
    """Matrix ``Q`` (``SIGNATURE_LENGTH x 2 SIG_FREQS``) with ``X @ Q`` = per-k Re and Im parts.

    For database rows ``x`` and query ``q`` (both as in :func:`signature_from_spectra`), column
    ``k`` gives ``Re <q_k, x_k>`` and column ``SIG_FREQS + k`` gives ``Im <q_k, x_k>``.
    """
    q = np.asarray(q, dtype=np.float32).ravel()
    half = SIGNATURE_LENGTH // 2
    qr, qi = q[:half].reshape(SIG_FREQS, SIG_RINGS), q[half:].reshape(SIG_FREQS, SIG_RINGS)
    out = np.zeros((SIGNATURE_LENGTH, 2 * SIG_FREQS), dtype=np.float32)
    for k in range(SIG_FREQS):
        sl = slice(k * SIG_RINGS, (k + 1) * SIG_RINGS)
        # <q, x> = sum conj(q) x: Re = qr.xr + qi.xi ; Im = qr.xi - qi.xr
        out[sl, k] = qr[k]
        out[half + k * SIG_RINGS: half + (k + 1) * SIG_RINGS, k] = qi[k]
        out[sl, SIG_FREQS + k] = -qi[k]
        out[half + k * SIG_RINGS: half + (k + 1) * SIG_RINGS, SIG_FREQS + k] = qr[k]
    return out


def similarity_from_products(p: np.ndarray) -> np.ndarray:
    """Combine ``X @ query_matrix(q)`` into rotation-invariant similarities (rows of ``p``)."""
    return np.hypot(p[..., :SIG_FREQS], p[..., SIG_FREQS:]).sum(axis=-1)


def signature_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Rotation-invariant similarity ``sum_k |<a_k, b_k>|`` in [0, 1] of two signatures."""
    return float(similarity_from_products(np.asarray(b, np.float32) @ query_matrix(a)))
