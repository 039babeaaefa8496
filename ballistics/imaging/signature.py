"""Fixed-length signature for stage-1 search; rotation is handled by the similarity.

Since cmc-1.1.0 the signature is built from the *Fourier magnitude* of the processed surface,
which does not depend on where the scan is centred (a centre error of a few pixels, common on
cropped real scans, decorrelated the spatial rings used by 1.0.0: with a 212 µm error on a third
of the 60 x 3 synthetic scans their top-10 fell from 1.0 to 0.72, this one stays at 1.0). The
magnitude of the 2D FFT of the tapered, standardised surface is resampled on ``SIG_RINGS``
circles of spatial frequency (wavelengths ``SIG_LAMBDA_MAX_UM`` down to ``SIG_LAMBDA_MIN_UM``)
and divided by its mean on each circle; a rotation of the surface rotates the spectrum, i.e.
circularly shifts every circle. Each circle's angular profile is Fourier transformed, keeping
``F_r(k)`` for the even harmonics k = 2, 4, ..., 2 ``SIG_FREQS`` (|F| is centrally symmetric,
odd harmonics vanish). A rotation by ``t`` multiplies every ``F_r(k)`` by ``exp(-i k t)``. The
signature stores ``F`` (real and imaginary parts, each harmonic block normalised to unit
energy, then the whole vector L2-normalised: float32, length ``SIGNATURE_LENGTH`` = 256).

Similarity (:func:`signature_similarity`, since cmc-2.0.0) is
``max_t sum_k Re(exp(i k t) <F^a_k, F^b_k>)``: the inner products over circles keep the
arrangement of the spectral speckle, which is individual to the marks (a plain power spectrum
would keep only texture statistics shared by every firearm of a make), and *one* rotation ``t``
must explain all harmonics at once. cmc-1.x summed the moduli ``sum_k |<F^a_k, F^b_k>|``, which
lets every harmonic pick its own rotation; that sum is an upper bound of the new similarity
(:func:`similarity_from_products`) and is kept as the index's first, cheap pass. On Baldwin
queries among 3,810 Weller-derived and synthetic distractors the mate's top-10 rate went from
0.25 to 0.58 (Weller: 1.00 either way). For a database it is one product per harmonic (see
:class:`~ballistics.imaging.index.SignatureIndex`), then :func:`rotation_similarity`.
"""

from __future__ import annotations

import numpy as np
from scipy import fft as sfft
from scipy import ndimage

from ballistics.imaging.registration import bilinear

SIG_RINGS = 16
SIG_FREQS = 8
SIG_LAMBDA_MIN_UM = 60.0
SIG_LAMBDA_MAX_UM = 300.0
SIG_N_THETA = 512
#: Length of every signature vector.
SIGNATURE_LENGTH = 2 * SIG_RINGS * SIG_FREQS


def ring_spectra(heights: np.ndarray, mask: np.ndarray, pixel_um: float) -> np.ndarray:
    """Angular Fourier coefficients ``F[k, r]`` of |FFT| on circles of spatial frequency.

    Returns
    -------
    numpy.ndarray
        complex, shape ``(SIG_FREQS, SIG_RINGS)``; harmonics 2, 4, ..., 2 ``SIG_FREQS``.
    """
    m = np.asarray(mask, bool)
    vals = np.asarray(heights, np.float64)[m]
    sd = vals.std() + 1e-12 if vals.size else 1.0
    taper = ndimage.gaussian_filter(m.astype(np.float32), 2.0) * m
    v = np.where(m, (heights - (vals.mean() if vals.size else 0.0)) / sd, 0.0) * taper
    n = sfft.next_fast_len(2 * max(v.shape))
    f = np.abs(sfft.fftshift(sfft.fft2(v.astype(np.float32), s=(n, n), workers=1)))
    c = n // 2
    r = np.linspace(n * pixel_um / SIG_LAMBDA_MAX_UM,
                    min(n * pixel_um / SIG_LAMBDA_MIN_UM, c - 2), SIG_RINGS)
    phi = np.arange(SIG_N_THETA) * (2 * np.pi / SIG_N_THETA)
    yy = c + r[:, None] * np.sin(phi)[None, :]
    xx = c + r[:, None] * np.cos(phi)[None, :]
    prof = bilinear(f.astype(np.complex64), yy, xx).real.astype(np.float64)
    # Relative magnitude on each circle (whitening across frequencies). The logarithm would
    # weigh the deep, noise-dominated minima of the speckle as much as its maxima: on a
    # "hard" 20 x 3 synthetic set it gave top-1 0.40 / top-10 0.87 against 0.68 / 1.00.
    prof = prof / (prof.mean(axis=1, keepdims=True) + 1e-30) - 1.0
    return np.fft.rfft(prof, axis=1)[:, 2:2 * SIG_FREQS + 1:2].T


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


#: Rotations at which :func:`rotation_similarity` is evaluated, over 0-180 degrees (the
#: harmonics are even). At 1 degree the highest harmonic (16) loses at most 1 - cos 8 deg = 1 %.
SIM_N_ANGLES = 180
_K = 2 * np.arange(1, SIG_FREQS + 1)
_T = np.linspace(0.0, np.pi, SIM_N_ANGLES, endpoint=False)
#: ``[Re, Im] @ _ROTATIONS = Re(sum_k exp(i k t) <q_k, x_k>)`` for every angle ``t``.
_ROTATIONS = np.concatenate([np.cos(np.outer(_K, _T)), -np.sin(np.outer(_K, _T))]
                            ).astype(np.float32)


def similarity_from_products(p: np.ndarray) -> np.ndarray:
    """Upper bound ``sum_k |<q_k, x_k>|`` of :func:`rotation_similarity` (the 1.x similarity).

    ``p`` is ``X @ query_matrix(q)``: columns ``k`` and ``SIG_FREQS + k`` are ``Re`` and ``Im``
    of ``<q_k, x_k>``.
    """
    return np.hypot(p[..., :SIG_FREQS], p[..., SIG_FREQS:]).sum(axis=-1)


def rotation_similarity(p: np.ndarray) -> np.ndarray:
    """``max_t sum_k Re(exp(i k t) <q_k, x_k>)`` from the products ``p = X @ query_matrix(q)``.

    Rotation-invariant, at most :func:`similarity_from_products` of the same rows, 1 for a
    signature with itself.
    """
    return (np.asarray(p, np.float32) @ _ROTATIONS).max(axis=-1)


def signature_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Rotation-invariant similarity in [-1, 1] of two signatures (:func:`rotation_similarity`)."""
    return float(rotation_similarity(np.asarray(b, np.float32) @ query_matrix(a)))
