"""Audio of the camera's streams and two-way audio (9.8): G.711 mu-law (ITU-T G.711) and tone measurement.

Rule 1: linear PCM is 16-bit signed; mu-law is one byte per sample, bit-inverted as G.711 sends it.
Rule 2: the encoder clips at 32635 (G.711's segment range) so every sample has a code; -0 encodes as +0.
"""

from __future__ import annotations

import numpy as np

# G.711 mu-law: bias 0x84 (132) added to the magnitude before the segment is found; clip below 32767 - bias
_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def ulaw_encode(samples: np.ndarray) -> bytes:
    """16-bit linear PCM -> G.711 mu-law bytes."""
    x = np.asarray(samples, dtype=np.int32)
    sign = (x < 0).astype(np.int32) << 7
    mag = np.minimum(np.abs(x), _ULAW_CLIP) + _ULAW_BIAS
    exponent = np.floor(np.log2(mag)).astype(np.int32) - 7  # mag is 132..32767 -> 0..7
    mantissa = (mag >> (exponent + 3)) & 0x0F
    return (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()


def ulaw_decode(data: bytes) -> np.ndarray:
    """G.711 mu-law bytes -> int16 linear PCM."""
    b = ~np.frombuffer(data, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (b >> 4) & 0x07
    mantissa = b & 0x0F
    mag = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return np.where(b & 0x80, -mag, mag).astype(np.int16)


def tone_frequency(samples: np.ndarray, rate: int) -> float:
    """The dominant frequency (Hz) of `samples`: Hann-windowed FFT peak, refined by parabolic interpolation."""
    x = np.asarray(samples, dtype=np.float64)
    if x.size < 16:
        raise ValueError("need at least 16 samples")
    x = (x - x.mean()) * np.hanning(x.size)
    spectrum = np.abs(np.fft.rfft(x))
    k = int(np.argmax(spectrum[1:])) + 1
    peak = float(k)
    if 1 <= k < spectrum.size - 1:
        a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
        denom = a - 2 * b + c
        peak += 0.5 * (a - c) / denom if denom else 0.0
    return float(peak * rate / x.size)
