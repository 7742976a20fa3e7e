"""The catalogue's audition file: a short, low-bitrate MP3 excerpt of a stem.

A client auditions a stem before it uses it; it does not get the master. So the preview is at
most `MAX_SECONDS` long, faded out over its last `FADE_SECONDS`, and encoded as MPEG-1 Layer III
at `BITRATE` bit/s, constant bitrate (ISO/IEC 11172-3): a file every browser's <audio> plays
(Chromium, Firefox and Safari decode MP3 natively; Ogg Opus would fail on older Safari), of about
360 kB for 30 s, whose 16 kHz low-pass and quantisation noise make it useless as a source.

The encoder is LAME, through PyAV (FFmpeg's `libmp3lame`), with no ID3 tag: nothing of the
stem's metadata travels in the file.
"""

from __future__ import annotations

import io

import av
import numpy as np
import numpy.typing as npt

MAX_SECONDS = 30.0
FADE_SECONDS = 1.0
BITRATE = 96_000
SAMPLE_RATE = 44_100  # MP3's own rates are 32/44.1/48 kHz; 44.1 kHz is what every decoder expects
CONTENT_TYPE = "audio/mpeg"
EXTENSION = "mp3"


def excerpt(samples: npt.NDArray[np.float32], sample_rate: int) -> npt.NDArray[np.float32]:
    """The first MAX_SECONDS of `samples` (frames, channels), faded out when cut short.

    A stem shorter than MAX_SECONDS is kept whole and not faded: a loop or a one-shot is heard
    as it is. Only a cut gets the fade, so the excerpt never ends on a click."""
    frames = min(len(samples), round(MAX_SECONDS * sample_rate))
    out = np.array(samples[:frames], dtype=np.float32, copy=True)
    if frames < len(samples):
        fade = min(frames, round(FADE_SECONDS * sample_rate))
        out[frames - fade :] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)[:, None]
    return out


def encode_preview(
    samples: npt.NDArray[np.float32], sample_rate: int, *, bitrate: int = BITRATE
) -> bytes:
    """MP3 bytes of the excerpt of `samples` (float32, (frames, channels)), mono or stereo."""
    clip = excerpt(samples, sample_rate)
    channels = 1 if clip.shape[1] == 1 else 2
    if clip.shape[1] > 2:  # a multichannel stem is auditioned as its first two channels
        clip = clip[:, :2]
    layout = "mono" if channels == 1 else "stereo"
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=SAMPLE_RATE, layout=layout)
        stream.bit_rate = bitrate
        # The resampler converts rate and sample format; frames go in as planar float.
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=SAMPLE_RATE)
        planar = np.ascontiguousarray(np.clip(clip, -1.0, 1.0).T)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout=layout)
        frame.sample_rate = sample_rate
        for chunk in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(chunk):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()
