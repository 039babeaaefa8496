"""Synthetic breech-face scans with known ground truth.

Physical model
--------------
A firearm's breech face carries *individual* marks left by its manufacture: a band-limited random
texture (grinding / machining roughness, wavelengths ``texture_band_um``) plus a family of
parallel or slightly curved striations from milling or filing (random direction, wavelengths
``striation_band_um``), and a firing-pin aperture of firearm-specific radius and position.

At each firing the primer is pressed against the breech face. The scan then shows, in the
scanner's frame: the breech-face texture rotated by a uniform random angle (0-360 degrees: the
examiner places the case arbitrarily) and translated, multiplied by a smooth *contact* field in
[0, 1] (partial contact: low-pressure regions do not take the mark), plus the primer's own
roughness (an independent random field), a tilted and slightly domed form, a crater where the
firing pin struck, the primer gap and case head (or NaN) outside the primer, drop-outs (blobs of
missing points) and spikes (outliers). ``difficulty`` scales noise, contact loss and drop-outs.

This is a model for testing and benchmarking the comparison pipeline, not a claim about any make
of firearm; its knobs are chosen so that scans resemble the NIST / CSAFE validation scans in scale
(primer radius ~1.9 mm, aperture ~0.6 mm, marks ~1 µm rms).

References
----------
Song, J. (2013). Proposed "NIST Ballistics Identification System (NBIS)" based on 3D topography
measurements on correlation cells. AFTE Journal 45(2), 184-194 (describes the mark types).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ballistics.imaging.surface import Surface

#: Difficulty presets: noise (rms relative to the marks), minimum contact, drop-out fraction,
#: contact-field roughness and translation range (µm).
DIFFICULTIES: dict[str, dict[str, float]] = {
    "easy": {"noise": 0.15, "contact_loss": 0.1, "dropout": 0.01, "shift_um": 100.0},
    "default": {"noise": 0.3, "contact_loss": 0.25, "dropout": 0.03, "shift_um": 200.0},
    "hard": {"noise": 0.5, "contact_loss": 0.4, "dropout": 0.06, "shift_um": 300.0},
    "extreme": {"noise": 0.8, "contact_loss": 0.55, "dropout": 0.1, "shift_um": 300.0},
}


@dataclass
class Firearm:
    """Individual breech-face marks of one synthetic firearm.

    Attributes
    ----------
    seed : int
        Seed it was made from.
    texture : numpy.ndarray
        Breech-face height texture (µm) on a square grid centred on the aperture centre.
    texture_pixel_um : float
        Grid spacing of ``texture``.
    aperture_radius_um : float
        Radius of the firing-pin aperture.
    primer_radius_um : float
        Radius of the primer (the marked region ends there).
    """

    seed: int
    texture: np.ndarray
    texture_pixel_um: float
    aperture_radius_um: float
    primer_radius_um: float
    info: dict = field(default_factory=dict)


def _band_field(rng: np.random.Generator, shape: tuple[int, int], px: float,
                short_um: float, long_um: float) -> np.ndarray:
    """Unit-rms Gaussian random field with Gaussian band-pass between two wavelengths."""
    white = rng.standard_normal(shape)
    fy = np.fft.fftfreq(shape[0], d=px)[:, None]
    fx = np.fft.rfftfreq(shape[1], d=px)[None, :]
    f2 = fx**2 + fy**2
    # Gaussian transmission exp(-pi (a lambda f)^2) with a = sqrt(ln2/pi): 50 % at the cut-off.
    a2 = np.log(2) / np.pi
    low = np.exp(-np.pi * a2 * short_um**2 * f2)
    high = 1 - np.exp(-np.pi * a2 * long_um**2 * f2)
    out = np.fft.irfft2(np.fft.rfft2(white) * low * high, s=shape)
    return out / (out.std() + 1e-12)


def _striations(rng: np.random.Generator, n: int, px: float,
                band: tuple[float, float]) -> np.ndarray:
    """Milling / filing marks: a random 1D profile swept along slightly curved lines."""
    prof = _band_field(rng, (1, 4 * n), px, *band)[0]
    y, x = (np.mgrid[0:n, 0:n] - n / 2) * px
    ang = rng.uniform(0, np.pi)
    u = x * np.cos(ang) + y * np.sin(ang)
    v = -x * np.sin(ang) + y * np.cos(ang)
    # A far-away milling-cutter centre bends the lines into arcs.
    radius = rng.uniform(4000, 20000) * rng.choice([-1, 1])
    arc = np.sqrt((u - radius) ** 2 + v**2) - abs(radius)
    idx = np.clip(arc * np.sign(-radius) / px + 2 * n, 0, 4 * n - 1)
    return np.interp(idx, np.arange(4 * n), prof)


def make_firearm(
    seed: int,
    *,
    texture_pixel_um: float = 5.0,
    primer_radius_um: float = 1900.0,
    texture_band_um: tuple[float, float] = (40.0, 400.0),
    striation_band_um: tuple[float, float] = (30.0, 200.0),
    striation_weight: float = 0.7,
) -> Firearm:
    """Make the individual breech-face marks of one firearm.

    Parameters
    ----------
    seed : int
        Determines the firearm; equal seeds give identical firearms.
    texture_pixel_um : float
        Spacing of the stored texture grid (finer than any scan made from it).
    primer_radius_um : float
        Radius of the primer face the breech face can mark.
    texture_band_um, striation_band_um : (float, float)
        Short and long wavelengths of the random texture and the striation profile.
    striation_weight : float
        Rms of the striations relative to the random texture.

    Returns
    -------
    Firearm
    """
    rng = np.random.default_rng([seed, 101])
    n = int(np.ceil(2.3 * primer_radius_um / texture_pixel_um)) // 2 * 2
    tex = _band_field(rng, (n, n), texture_pixel_um, *texture_band_um)
    tex += striation_weight * _striations(rng, n, texture_pixel_um, striation_band_um)
    tex /= tex.std()
    return Firearm(
        seed=seed,
        texture=tex.astype(np.float32),
        texture_pixel_um=texture_pixel_um,
        aperture_radius_um=float(rng.uniform(500, 750)),
        primer_radius_um=primer_radius_um,
        info={"texture_band_um": texture_band_um, "striation_band_um": striation_band_um},
    )


def fire(
    firearm: Firearm,
    seed: int,
    difficulty: str = "default",
    pixel_um: float = 6.25,
    *,
    outside: str = "case",
    size_px: int | None = None,
    mark_rms_um: float = 1.0,
) -> Surface:
    """Simulate the scan of one cartridge case fired in ``firearm``.

    Parameters
    ----------
    firearm : Firearm
        From :func:`make_firearm`.
    seed : int
        Determines the firing (rotation, translation, contact, noise, drop-outs).
    difficulty : {"easy", "default", "hard", "extreme"}
        Preset of :data:`DIFFICULTIES`.
    pixel_um : float
        Lateral pixel size of the scan.
    outside : {"case", "nan"}
        What lies outside the primer: the primer gap and case head (as in full TopMatch scans)
        or unmeasured points (as in NanoFocus scans cropped to the primer).
    size_px : int, optional
        Side of the square scan; default covers the primer with a 15 % margin.
    mark_rms_um : float
        Rms height of the transferred breech-face marks.

    Returns
    -------
    Surface
        ``meta`` records firearm seed, firing seed, rotation (deg), translation (µm), difficulty.
    """
    if difficulty not in DIFFICULTIES:
        raise ValueError(f"difficulty must be one of {sorted(DIFFICULTIES)}, got {difficulty!r}")
    if outside not in ("case", "nan"):
        raise ValueError(f"outside must be 'case' or 'nan', got {outside!r}")
    d = DIFFICULTIES[difficulty]
    rng = np.random.default_rng([firearm.seed, seed, 202])
    rp = firearm.primer_radius_um
    n = size_px or int(np.ceil(2.3 * rp / pixel_um))
    theta = rng.uniform(0, 360)
    shift = rng.uniform(-d["shift_um"], d["shift_um"], 2)
    seat = rng.normal(0, 30.0, 2)  # primer seating relative to the breech face
    yy, xx = (np.mgrid[0:n, 0:n] - (n - 1) / 2) * pixel_um
    xs, ys = xx - shift[0], yy - shift[1]  # scan -> breech-face frame (centre = aperture)
    t = np.deg2rad(theta)
    u = np.cos(t) * xs + np.sin(t) * ys
    v = -np.sin(t) * xs + np.cos(t) * ys
    tp = firearm.texture_pixel_um
    m = firearm.texture.shape[0]
    marks = ndimage.map_coordinates(
        firearm.texture, [v / tp + (m - 1) / 2, u / tp + (m - 1) / 2], order=1, mode="reflect"
    )
    coarse = (max(n // 8, 8),) * 2
    contact = _band_field(rng, coarse, pixel_um * n / coarse[0], 0.0 + pixel_um, 3000.0)
    contact = ndimage.zoom(contact, n / coarse[0], order=1)[:n, :n]
    contact = np.clip(1.0 - d["contact_loss"] * (1.2 - contact) / 1.2, 0.0, 1.0) ** 2
    noise = _band_field(rng, (n, n), pixel_um, 2 * pixel_um, 300.0)
    z = mark_rms_um * (contact * marks + d["noise"] * noise)
    r_ap = np.hypot(xs, ys)
    rprim = np.hypot(xs - seat[0], ys - seat[1])
    tilt = rng.normal(0, 0.02, 2)  # about 1 degree
    z += tilt[0] * xx + tilt[1] * yy + 15.0 * (rprim / rp) ** 2 + rng.uniform(-50, 50)
    ra = firearm.aperture_radius_um
    crater = r_ap < ra
    z[crater] -= 60.0 * np.sqrt(np.clip(1 - (r_ap[crater] / ra) ** 2, 0, 1)) + 10.0
    outside_primer = rprim > rp
    if outside == "nan":
        z[outside_primer] = np.nan
    else:
        gap = (rprim > rp) & (rprim < rp + 120.0)
        z[gap] -= 80.0
        z[rprim >= rp + 120.0] += 20.0
    if d["dropout"] > 0:
        blobs = _band_field(rng, (n, n), pixel_um, 40.0, 400.0)
        thr = np.quantile(blobs, 1 - d["dropout"])
        z[blobs > thr] = np.nan
        spikes = rng.random((n, n)) < 2e-4
        z[spikes] += rng.choice([-1, 1], spikes.sum()) * rng.uniform(20, 60, spikes.sum())
    meta = {
        "firearm": f"synthetic-{firearm.seed}",
        "firearm_seed": firearm.seed,
        "firing_seed": seed,
        "rotation_deg": float(theta),
        "translation_um": [float(shift[0]), float(shift[1])],
        "difficulty": difficulty,
        "source": "synthetic",
    }
    return Surface(z.astype(np.float32), pixel_um, pixel_um, meta)


def make_set(
    n_firearms: int,
    n_firings: int,
    *,
    seed: int = 0,
    difficulty: str = "default",
    pixel_um: float = 6.25,
    outside: str = "case",
) -> list[Surface]:
    """Make ``n_firearms * n_firings`` scans; ``meta["firearm"]`` gives the ground truth.

    Parameters
    ----------
    n_firearms, n_firings : int
        Number of firearms and of test fires per firearm.
    seed : int
        Seed of the whole set (firearm seeds are ``seed * 100003 + i``).
    difficulty, pixel_um, outside
        Passed to :func:`fire`.

    Returns
    -------
    list of Surface
        Ordered firearm by firearm.
    """
    out = []
    for i in range(n_firearms):
        fa = make_firearm(seed * 100003 + i)
        for j in range(n_firings):
            out.append(fire(fa, j, difficulty, pixel_um, outside=outside))
    return out
