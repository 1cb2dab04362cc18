"""What each of the 88 eGeMAPSv02 functionals measures, in plain words, and its group.

The groups are the eGeMAPS parameter groups of Eyben et al. (2015), as the MUSER
paper's Table 3 uses them: frequency, energy/amplitude, spectral and temporal.
Every name is parsed from its parts (low-level descriptor, smoothing/region
suffix, functional) rather than listed by hand, so the 88 names, their groups
and their descriptions cannot drift apart; :func:`describe` raises ``KeyError``
for a name it cannot parse, and the tests run it over every openSMILE name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import pandas as pd

GROUPS = ("frequency", "energy/amplitude", "spectral", "temporal")


@dataclass(frozen=True)
class EgemapsFeature:
    """One eGeMAPS functional: its group, the paper-style parameter class and a description."""

    name: str
    group: str        # one of GROUPS
    parameter: str    # the class the paper's Table 3 lists ("Loudness", "Alpha Ratio", ...)
    description: str  # plain words, e.g. "mean loudness (all frames)"


# Low-level descriptors: name prefix -> (group, parameter class, plain words).
# Formant amplitude (F1-F3 energy relative to F0) is filed under energy/amplitude
# as the MUSER paper's Table 3 does; Eyben et al. (2015) list it among the
# spectral-balance parameters.
_LLD: dict[str, tuple[str, str, str]] = {
    "F0semitoneFrom27.5Hz": ("frequency", "Pitch", "pitch (F0, semitones above 27.5 Hz)"),
    "jitterLocal": ("frequency", "Jitter", "jitter (period-to-period F0 variation)"),
    "F1frequency": ("frequency", "Formant", "frequency of formant 1"),
    "F2frequency": ("frequency", "Formant", "frequency of formant 2"),
    "F3frequency": ("frequency", "Formant", "frequency of formant 3"),
    "F1bandwidth": ("frequency", "Formant bandwidth", "bandwidth of formant 1"),
    "F2bandwidth": ("frequency", "Formant bandwidth", "bandwidth of formant 2"),
    "F3bandwidth": ("frequency", "Formant bandwidth", "bandwidth of formant 3"),
    "loudness": ("energy/amplitude", "Loudness", "loudness (perceived intensity)"),
    "shimmerLocaldB": ("energy/amplitude", "Shimmer", "shimmer (period-to-period amplitude variation, dB)"),
    "HNRdBACF": ("energy/amplitude", "HNR", "HNR (harmonics-to-noise ratio)"),
    "F1amplitudeLogRelF0": ("energy/amplitude", "Amplitude", "F1 amplitude (formant 1 energy relative to F0)"),
    "F2amplitudeLogRelF0": ("energy/amplitude", "Amplitude", "F2 amplitude (formant 2 energy relative to F0)"),
    "F3amplitudeLogRelF0": ("energy/amplitude", "Amplitude", "F3 amplitude (formant 3 energy relative to F0)"),
    "logRelF0-H1-H2": ("spectral", "Harmonic difference", "H1-H2 (energy of 1st minus 2nd harmonic; breathiness)"),
    "logRelF0-H1-A3": ("spectral", "Harmonic difference", "H1-A3 (energy of 1st harmonic minus formant 3 peak)"),
    "alphaRatio": ("spectral", "Alpha Ratio", "alpha ratio (energy 50-1000 Hz over 1-5 kHz)"),
    "hammarbergIndex": ("spectral", "Hammarberg Index", "Hammarberg index (strongest peak 0-2 kHz over 2-5 kHz)"),
    "slope0-500": ("spectral", "Slope", "spectral slope 0-500 Hz"),
    "slope500-1500": ("spectral", "Slope", "spectral slope 500-1500 Hz"),
    "spectralFlux": ("spectral", "Spectral Flux", "spectral flux (how fast the spectrum changes)"),
    "mfcc1": ("spectral", "MFCC", "MFCC 1 (overall spectral tilt)"),
    "mfcc2": ("spectral", "MFCC", "MFCC 2 (spectral shape)"),
    "mfcc3": ("spectral", "MFCC", "MFCC 3 (spectral shape)"),
    "mfcc4": ("spectral", "MFCC", "MFCC 4 (spectral shape)"),
}

# Spectral descriptors computed separately in voiced (V) and unvoiced (UV) regions.
_REGIONAL = ("alphaRatio", "hammarbergIndex", "slope0-500", "slope500-1500", "spectralFlux",
             "mfcc1", "mfcc2", "mfcc3", "mfcc4")

# Functionals: openSMILE suffix -> words placed before the descriptor.
_FUNCTIONAL = {
    "amean": "mean",
    "stddevNorm": "variability (coefficient of variation) of",
    "percentile20.0": "20th percentile of",
    "percentile50.0": "median",
    "percentile80.0": "80th percentile of",
    "pctlrange0-2": "range (20th-80th percentile) of",
    "meanRisingSlope": "mean rising slope of",
    "stddevRisingSlope": "variability of the rising slope of",
    "meanFallingSlope": "mean falling slope of",
    "stddevFallingSlope": "variability of the falling slope of",
}

# The seven functionals that stand alone (no descriptor_functional pattern).
_STANDALONE: dict[str, tuple[str, str, str]] = {
    "loudnessPeaksPerSec": ("temporal", "Loudness peaks rate", "loudness peaks per second (speaking rate proxy)"),
    "VoicedSegmentsPerSec": ("temporal", "Voiced segment rate", "voiced segments per second"),
    "MeanVoicedSegmentLengthSec": ("temporal", "Voice Length", "mean voiced segment length (s)"),
    "StddevVoicedSegmentLengthSec": ("temporal", "Voice Length", "variability of voiced segment length (s)"),
    "MeanUnvoicedSegmentLength": ("temporal", "Unvoiced Length", "mean unvoiced segment (pause) length (s)"),
    "StddevUnvoicedSegmentLength": ("temporal", "Unvoiced Length", "variability of unvoiced segment (pause) length (s)"),
    "equivalentSoundLevel_dBp": ("energy/amplitude", "Loudness", "equivalent sound level (dB, mean energy)"),
}

_PATTERN = re.compile(r"^(?P<lld>.+?)_(?P<smooth>sma3nz|sma3)_(?P<functional>[A-Za-z0-9.\-]+)$")


@cache
def describe(name: str) -> EgemapsFeature:
    """Group, parameter class and plain-words description of one eGeMAPSv02 functional name.

    Raises ``KeyError`` for a name that is not an eGeMAPSv02 functional.
    """
    if name in _STANDALONE:
        return EgemapsFeature(name, *_STANDALONE[name])
    match = _PATTERN.match(name)
    if not match or match["functional"] not in _FUNCTIONAL:
        raise KeyError(f"not an eGeMAPSv02 functional name: {name!r}")
    lld, region = match["lld"], ""
    if lld not in _LLD:
        # Regional spectral descriptors: 'alphaRatioV', 'slopeUV0-500', 'mfcc1V', ...
        for base in _REGIONAL:
            stem = re.sub(r"\d.*$", "", base) if base.startswith("slope") else base
            rest = base[len(stem):]
            for tag, words in (("UV", "unvoiced"), ("V", "voiced")):
                if lld == f"{stem}{tag}{rest}":
                    lld, region = base, words
                    break
            if region:
                break
    if lld not in _LLD:
        raise KeyError(f"not an eGeMAPSv02 functional name: {name!r}")
    group, parameter, words = _LLD[lld]
    if not region:
        # 'nz' = only frames where the descriptor is non-zero, i.e. voiced frames for F0-based ones.
        region = "voiced" if match["smooth"] == "sma3nz" else "all"
    description = f"{_FUNCTIONAL[match['functional']]} {words}, {region} frames"
    return EgemapsFeature(name, group, parameter, description)


def is_egemaps(name: str) -> bool:
    """True when ``name`` is one of the eGeMAPSv02 functional names."""
    try:
        describe(name)
    except KeyError:
        return False
    return True


def feature_table(names: list[str]) -> pd.DataFrame:
    """One row per name: feature, group, parameter, description (KeyError for unknown names)."""
    return pd.DataFrame([vars(describe(n)) for n in names]).rename(columns={"name": "feature"})
