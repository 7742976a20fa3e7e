"""Loudness presets: the delivery targets a soundtrack can be mastered to, by name.

Each names an integrated-loudness target (ITU-R BS.1770 gated loudness; LKFS and LUFS are the
same unit) and a true-peak ceiling, as the body that sets the target publishes them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LoudnessPreset:
    name: str
    loudness_lufs: float
    true_peak_dbtp: float
    title: str

    def describe(self) -> str:
        return f"{self.name} ({self.loudness_lufs:g} LUFS / {self.true_peak_dbtp:g} dBTP)"


LOUDNESS_PRESETS: dict[str, LoudnessPreset] = {
    preset.name: preset
    for preset in (
        # The level the major streaming services normalise music to (AES TD1008 recommends
        # -14 to -16 LUFS with a -1 dBTP ceiling for lossy encoding headroom).
        LoudnessPreset("streaming", -14.0, -1.0, "Streaming platforms"),
        # EBU R 128 (2023): programme loudness -23.0 LUFS, maximum true peak -1 dBTP.
        LoudnessPreset("ebu_r128", -23.0, -1.0, "EBU R 128 broadcast"),
        # ATSC A/85:2013: target -24 LKFS; -2 dBTP is its recommended peak ceiling for
        # programme delivered to AC-3 encoders.
        LoudnessPreset("atsc_a85", -24.0, -2.0, "ATSC A/85 broadcast"),
    )
}
DEFAULT_LOUDNESS_PRESET = "streaming"


def known_presets() -> str:
    """The presets, for an error message: 'streaming (-14 LUFS / -1 dBTP), ...'."""
    return ", ".join(preset.describe() for preset in LOUDNESS_PRESETS.values())


def loudness_preset(name: str) -> LoudnessPreset:
    """The preset called `name`; ValueError listing the known ones otherwise."""
    try:
        return LOUDNESS_PRESETS[name]
    except KeyError:
        raise ValueError(
            f"unknown loudness preset {name!r}; choose one of: {known_presets()}"
        ) from None
