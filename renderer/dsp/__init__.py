"""The renderer's signal-processing toolbox: each primitive once, used by every caller.

- `running`: running maximum and minimum over a window (by doubling), and block maxima;
- `sinc`: Kaiser-windowed sinc kernels, the true-peak interpolator and its banded form;
- `resample`: polyphase and FFT sample-rate conversion;
- `framing`: frame starts on a seconds grid, windowed frames and their spectra;
- `kweight`: BS.1770 K-weighting (scipy.signal.sosfilt, state carried from chunk to chunk);
- `chunks`: the RIFF / IFF chunk walker (WAV, AIFF);
- `peaks`: waveform peaks of equal slices;
- `svg`: the SVG path of a waveform envelope;
- `spectra`: band energies and the spectrogram picture curators see.
"""
