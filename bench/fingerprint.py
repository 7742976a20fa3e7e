"""Fingerprint robustness, false positives and lookup latency, measured on the CC0 corpus.

Each figure is measured on each half of the committed split (bench.provenance_split) on its
own, and per class (one-shot, loop, long stems bounced from the half's loops); thresholds are
tuned on the calibration half only. Within a half, every sound is indexed under its own name; each file is then transformed (seeded) and
queried. A recall hit is the source being the top match. False positives are any other item
returned, over every (query, other indexed item) pair. Related corpus pairs (one file an edit of
the other) are listed in RELATED and never counted as false.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from bench import Figure, _evasions
from bench.provenance_split import CLASSES, HALVES, SPLIT_FILE, bounce, load_split
from renderer.audio import load_audio
from renderer.fingerprint import PHASES_BELOW_S, Fingerprint, FingerprintIndex, fingerprint

FIGURES: tuple[str, ...] = (
    *(
        f"{name}_{half}"
        for half in ("calibration", "evaluation")
        for name in (
            "fingerprint_recall_mp3",
            "fingerprint_recall_ogg",
            "fingerprint_recall_resample",
            "fingerprint_recall_gain",
            "fingerprint_recall_trim",
            "fingerprint_recall_noise",
            "fingerprint_recall_containment",
            "fingerprint_recall_tempo",
            "fingerprint_recall_speed",
            "fingerprint_recall_pitch",
            "fingerprint_recall_attack",
            "fingerprint_recall_quarter",
            "fingerprint_recall_mix3",
            "fingerprint_false_positive_rate",
        )
    ),
    "fingerprint_lookup_p95_ms_100k",
)

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "cc0-samples"
SEED = 20240611
# Files that are edits of one another in the corpus: matching them is correct, not a false hit.
RELATED = {frozenset({"loop_amen", "loop_amen_full"})}
Array = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Clip:
    name: str
    samples: Array
    rate: int
    cls: str = "loop"  # its class in the corpus split (bench.provenance_split)
    sources: frozenset[str] = frozenset()  # corpus files a bounced long stem is made of

    @property
    def duration(self) -> float:
        return float(self.samples.shape[0] / self.rate)

    @property
    def family(self) -> str:
        return self.name.split("_", 1)[0]


def load_corpus(folder: Path = CORPUS) -> list[Clip]:
    clips = []
    for path in sorted(folder.glob("*.flac")):
        audio = load_audio(path)
        clips.append(Clip(path.stem, audio.samples, audio.sample_rate))
    return clips


def related(a: str, b: str) -> bool:
    return a == b or frozenset({a, b}) in RELATED


def related_clips(a: Clip, b: Clip) -> bool:
    """Same file, corpus edits of one another, or a long stem and what it was bounced from."""
    left = a.sources or frozenset({a.name})
    right = b.sources or frozenset({b.name})
    return bool(left & right) or any(related(x, y) for x in left for y in right)


def half_clips(half: str, clips: list[Clip]) -> list[Clip]:
    """One half of the committed split, with its long stems bounced from its loops."""
    split = load_split()
    by_name = {c.name: c for c in clips}
    names = [n for n in split.names(half) if n in by_name]
    out = [Clip(n, by_name[n].samples, by_name[n].rate, split.classes[n]) for n in names]
    sources = {n: (by_name[n].samples, by_name[n].rate) for n in names}
    for recipe in split.long[half]:
        used = frozenset(s["source"] for s in recipe["sections"])
        if used <= set(sources):
            out.append(Clip(recipe["name"], bounce(recipe, sources), 44_100, "long", used))
    return out


# ------------------------------------------------------------------------------ transformations


def _roundtrip(samples: Array, rate: int, fmt: str, subtype: str | None) -> Array:
    """Encode, decode, then store as 16-bit WAV like an uploader re-saving the file."""
    lossy = io.BytesIO()
    # In blocks: libsndfile's Vorbis encoder crashes on one large write (a 2-minute stem).
    with sf.SoundFile(lossy, "w", rate, samples.shape[1], format=fmt, subtype=subtype) as handle:
        for start in range(0, samples.shape[0], 1 << 15):
            handle.write(samples[start : start + (1 << 15)])
    decoded, _ = sf.read(io.BytesIO(lossy.getvalue()), dtype="float32", always_2d=True)
    wav = io.BytesIO()
    sf.write(wav, np.clip(decoded, -1.0, 1.0), rate, format="WAV", subtype="PCM_16")
    out, _ = sf.read(io.BytesIO(wav.getvalue()), dtype="float32", always_2d=True)
    return np.asarray(out, dtype=np.float32)


def resample(samples: Array, src: int, dst: int) -> Array:
    """Band-limited FFT resampling (the bench's own, independent of the engine's analysis)."""
    n = samples.shape[0]
    m = max(1, round(n * dst / src))
    spectrum = np.fft.rfft(samples, axis=0)
    keep = min(spectrum.shape[0], m // 2 + 1)
    out = np.fft.irfft(spectrum[:keep], n=m, axis=0) * (m / n)
    return np.asarray(out, dtype=np.float32)


def t_mp3(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    if clip.rate > 48_000:  # MPEG audio stops at 48 kHz; encoders resample first
        return _roundtrip(resample(clip.samples, clip.rate, 48_000), 48_000, "MP3", None), 48_000
    return _roundtrip(clip.samples, clip.rate, "MP3", None), clip.rate


def t_ogg(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    return _roundtrip(clip.samples, clip.rate, "OGG", "VORBIS"), clip.rate


def t_resample(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    dst = 48_000 if clip.rate != 48_000 else 44_100
    return resample(clip.samples, clip.rate, dst), dst


def t_gain(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    # Float output: the gain is tested on its own, not the clipping a +12 dB boost would cause.
    db = rng.uniform(-12.0, 12.0)
    return (clip.samples * np.float32(10.0 ** (db / 20.0))).astype(np.float32), clip.rate


def t_trim(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    n = clip.samples.shape[0]
    if clip.duration > 5.0:
        length = int(rng.uniform(5.0, clip.duration) * clip.rate)
        start = int(rng.integers(0, n - length + 1))
    else:
        # Short files stay whole, as if re-saved by an editor that adds 0-30 ms of leading
        # silence: the content is intact but every analysis frame sees it at a new phase.
        lead = np.zeros((int(rng.uniform(0.0, 0.03) * clip.rate), clip.samples.shape[1]))
        return np.concatenate([lead, clip.samples]).astype(np.float32), clip.rate
    return clip.samples[start : start + length], clip.rate


def t_noise(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    power = float(np.mean(clip.samples.astype(np.float64) ** 2))
    noise = rng.standard_normal(clip.samples.shape) * np.sqrt(power / 10.0)
    return (clip.samples + noise).astype(np.float32), clip.rate


def t_tempo(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    return _evasions.tempo(clip.samples, clip.rate, rng)


def t_speed(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    return _evasions.speed(clip.samples, clip.rate, rng, resample)


def t_pitch(clip: Clip, rng: np.random.Generator) -> tuple[Array, int]:
    return _evasions.pitch(clip.samples, clip.rate, rng)


def t_attack(clip: Clip, rng: np.random.Generator) -> tuple[Array, int] | None:
    if clip.cls != "one_shot":
        return None
    return _evasions.cut_attack(clip.samples, clip.rate), clip.rate


def t_quarter(clip: Clip, rng: np.random.Generator) -> tuple[Array, int] | None:
    if clip.cls != "one_shot":
        return None
    return _evasions.cut_quarter(clip.samples), clip.rate


Transform = Callable[[Clip, np.random.Generator], "tuple[Array, int] | None"]
TRANSFORMS: dict[str, Transform] = {
    "mp3": t_mp3,
    "ogg": t_ogg,
    "resample": t_resample,
    "gain": t_gain,
    "trim": t_trim,
    "noise": t_noise,
    "tempo": t_tempo,
    "speed": t_speed,
    "pitch": t_pitch,
    "attack": t_attack,  # one-shots only, as `quarter`
    "quarter": t_quarter,
}
# Issue #18 item 4's targets; the other transformations' is RECALL_TARGET.
TARGETS = {"tempo": ">=0.95", "speed": ">=0.95", "pitch": ">=0.90", "attack": ">=0.90"}
TARGETS |= {"quarter": ">=0.90", "containment": ">=0.90", "mix3": ">=0.90"}
RECALL_TARGET = ">=0.99"


def layer(
    source: Clip, other: Clip, rng: np.random.Generator, level_db: float = 0.0
) -> tuple[Array, float]:
    """Mix `source` into `other` (scaled to equal RMS + level_db); returns (mix, source start s)."""
    a = source.samples.mean(axis=1)
    b = other.samples.mean(axis=1)
    if other.rate != source.rate:
        b = resample(b[:, None], other.rate, source.rate)[:, 0]
    rms_a = float(np.sqrt(np.mean(a.astype(np.float64) ** 2)))
    rms_b = float(np.sqrt(np.mean(b.astype(np.float64) ** 2)))
    b = b * np.float32(rms_a / max(rms_b, 1e-9) * 10.0 ** (-level_db / 20.0))
    lead = int(rng.uniform(0.0, 1.0) * source.rate)
    start = lead + int(rng.integers(0, max(1, b.shape[0] - a.shape[0]) + 1))
    length = max(start + a.shape[0], b.shape[0])
    mix = np.zeros(length, np.float32)
    mix[: b.shape[0]] += b
    mix[start : start + a.shape[0]] += a
    return mix[:, None], start / source.rate


# ------------------------------------------------------------------------------ measurements


@dataclass
class Tally:
    """Hits per class (bench.provenance_split.CLASSES: one_shot, loop, long)."""

    hits: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    total: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))

    def count(self, hit: bool, cls: str) -> None:
        self.hits[cls] += hit
        self.total[cls] += 1

    def rate(self) -> float:
        return sum(self.hits.values()) / max(1, sum(self.total.values()))

    def per_class(self) -> str:
        return "; ".join(
            f"{c} {self.hits[c]}/{self.total[c]} = {self.hits[c] / max(1, self.total[c]):.3f}"
            for c in CLASSES
        )


def evaluate(
    clips: list[Clip], transforms: Iterable[str], containment: bool
) -> tuple[dict[str, Tally], int, int, list[str]]:
    """Recall per transformation, plus (false matches, pairs considered, examples)."""
    index = FingerprintIndex()
    by_name = {clip.name: clip for clip in clips}
    for clip in clips:
        index.add(clip.name, fingerprint(clip.samples, clip.rate))
    tallies: dict[str, Tally] = {}
    false_matches = 0
    pairs = 0
    examples: list[str] = []
    everyone = len(clips)
    for name in transforms:
        rng = np.random.default_rng([SEED, len(name), sum(map(ord, name))])
        tally = tallies.setdefault(name, Tally())
        for clip in clips:
            changed = TRANSFORMS[name](clip, rng)
            if changed is None:  # not a transformation of this class (one-shot trims)
                continue
            samples, rate = changed
            matches = index.query(fingerprint(samples, rate), limit=everyone)
            # A long stem bounced from this loop may rank first (it holds the loop many times
            # over): a hit when the source is among the matches and whatever ranks above it is
            # made of it.
            keys = [m.key for m in matches]
            hit = clip.name in keys and all(
                related_clips(by_name[k], clip) for k in keys[: keys.index(clip.name)]
            )
            tally.count(hit, clip.cls)
            wrong = [m for m in matches if not related_clips(by_name[m.key], clip)]
            false_matches += len(wrong)
            pairs += everyone - 1
            examples += [f"{name}:{clip.name}->{m.key}({m.matched_hashes})" for m in wrong]
    if containment:
        rng = np.random.default_rng([SEED, 7])
        tally = tallies.setdefault("containment", Tally())
        for clip in clips:
            others = [
                c
                for c in clips
                if c.family != clip.family and not related_clips(c, clip) and c.cls != "long"
            ]
            other = others[int(rng.integers(0, len(others)))]
            mix, start = layer(clip, other, rng)
            matches = index.find_contained(fingerprint(mix, clip.rate), limit=everyone)
            found = [m for m in matches if m.key == clip.name]
            hit = bool(found) and abs(found[0].query_offset_s - start) <= 0.1
            tally.count(hit, clip.cls)
            wrong = [
                m
                for m in matches
                if not related_clips(by_name[m.key], clip)
                and not related_clips(by_name[m.key], other)
            ]
            false_matches += len(wrong)
            pairs += everyone - 2
            examples += [f"contain:{clip.name}->{m.key}({m.matched_hashes})" for m in wrong]
        wrong_mix3, pairs_mix3 = mix3(clips, index, tallies.setdefault("mix3", Tally()), examples)
        false_matches += wrong_mix3
        pairs += pairs_mix3
    return tallies, false_matches, pairs, examples


def mix3(
    clips: list[Clip], index: FingerprintIndex, tally: Tally, examples: list[str]
) -> tuple[int, int]:
    """Each sound at 0 dB in a mix of three (two other sounds of other families, at equal RMS):
    a hit when find_contained finds it at its place (within 0.1 s). Returns (false matches,
    pairs): a match naming an item related to none of the three is false."""
    rng = np.random.default_rng([SEED, 3])
    by_name = {clip.name: clip for clip in clips}
    false_matches = pairs = 0
    for clip in clips:
        others = [
            c
            for c in clips
            if c.family != clip.family and not related_clips(c, clip) and c.cls != "long"
        ]
        picks = [others[int(j)] for j in rng.choice(len(others), 2, replace=False)]
        mono = [
            resample(c.samples.mean(axis=1, keepdims=True), c.rate, clip.rate)[:, 0]
            if c.rate != clip.rate
            else c.samples.mean(axis=1)
            for c in [clip, *picks]
        ]
        mix, start = _evasions.mix_of_three(mono[0], mono[1:], clip.rate, rng)
        matches = index.find_contained(fingerprint(mix, clip.rate), limit=len(clips))
        found = [m for m in matches if m.key == clip.name]
        tally.count(bool(found) and abs(found[0].query_offset_s - start) <= 0.1, clip.cls)
        wrong = [
            m for m in matches if not any(related_clips(by_name[m.key], c) for c in [clip, *picks])
        ]
        false_matches += len(wrong)
        pairs += len(clips) - 3
        examples += [f"mix3:{clip.name}->{m.key}({m.matched_hashes})" for m in wrong]
    return false_matches, pairs


def synthetic_fingerprints(
    real: list[Fingerprint], count: int, seconds: float, rng: np.random.Generator
) -> Iterator[Fingerprint]:
    """Fingerprints whose hash fields follow the corpus's marginal distributions.

    Anchor bin, bin step and frame gap are drawn independently from the corpus's own histograms
    (so common low-frequency hashes are as common as in real audio), at the corpus's hash rate.
    """
    # Density from material long enough to be analysed like a 60 s stem (one phase).
    long = [fp for fp in real if fp.duration_s >= PHASES_BELOW_S] or real
    pool = np.concatenate([fp.hashes for fp in long])
    per_s = sum(len(fp) for fp in long) / sum(fp.duration_s for fp in long)
    n = int(per_s * seconds)
    frames = int(seconds / 0.016)
    for _ in range(count):
        a = pool[rng.integers(0, pool.shape[0], n)] & np.uint32(~0x3FFF & 0xFFFFFFFF)
        b = pool[rng.integers(0, pool.shape[0], n)] & np.uint32(0x3FC0)
        c = pool[rng.integers(0, pool.shape[0], n)] & np.uint32(0x3F)
        times = np.sort(rng.integers(0, frames, n)).astype(np.uint32)
        yield Fingerprint(hashes=(a | b | c).astype(np.uint32), times=times, duration_s=seconds)


def lookup_p95(clips: list[Clip], items: int = 100_000) -> tuple[float, str]:
    """p95 of `FingerprintIndex.query` over 300 queries against `items` items: 200 transformed
    copies of indexed corpus files (every transformation in turn, the shifted ones included)
    and 100 unrelated originals (a quarter of the corpus is held out of the index for them):
    an unrelated upload finds nothing unshifted, so it always pays the whole shifted search."""
    rng = np.random.default_rng([SEED, 100])
    index = FingerprintIndex()
    held_out = clips[::4]
    indexed = [c for c in clips if c not in held_out]
    real = [fingerprint(c.samples, c.rate) for c in indexed]
    if not real:
        noise = rng.standard_normal((44_100 * 30, 1)).astype(np.float32) * 0.1
        real = [fingerprint(noise, 44_100)]
    for clip_fp, clip in zip(real, indexed, strict=False):
        index.add(clip.name, clip_fp)
    for i, fp in enumerate(synthetic_fingerprints(real, items - len(index), 60.0, rng)):
        index.add(f"synthetic:{i}", fp)
    queries: list[Fingerprint] = []
    sources: list[str] = []
    names = list(TRANSFORMS)
    for k in range(200):
        if indexed:
            clip = indexed[int(rng.integers(0, len(indexed)))]
            changed = TRANSFORMS[names[k % len(names)]](clip, rng)
            samples, rate = changed if changed is not None else (clip.samples, clip.rate)
            queries.append(fingerprint(samples, rate))
            sources.append(clip.name)
        else:
            queries.append(real[0])
            sources.append("")
    for k in range(100 if held_out else 0):
        clip = held_out[k % len(held_out)]
        queries.append(fingerprint(clip.samples, clip.rate))
        sources.append("")
    index.query(queries[0])  # the first query pays the one-off merge of pending adds
    timings = []
    cpu = []  # this process's CPU time per query: what the query costs on a shared machine
    found = 0
    for q, source in zip(queries, sources, strict=True):
        start, start_cpu = time.perf_counter(), time.process_time()
        matches = index.query(q)
        cpu.append((time.process_time() - start_cpu) * 1000.0)
        timings.append((time.perf_counter() - start) * 1000.0)
        # Not timed: whether the source still comes first among 100k (common hashes are
        # skipped at this scale, which the small-index recall figures cannot show).
        found += bool(matches) and bool(source) and related(matches[0].key, source)
    contained = []
    for q in queries:  # the portal's second lookup, which also uses the query-only landmarks
        start = time.perf_counter()
        index.find_contained(q)
        contained.append((time.perf_counter() - start) * 1000.0)
    per_item = index.postings / len(index)
    copies, unrelated = timings[:200], timings[200:] or [0.0]
    what = (
        f"{len(index)} items ({len(indexed)} corpus + synthetic 60 s items, {per_item:.0f} hashes"
        " each, fields drawn from corpus hash marginals); 200 queries of transformed corpus files"
        f" (p95 {np.percentile(copies, 95):.1f} ms, source ranked first for {found}/200,"
        f" one-shots included) and {len(timings) - 200} of the {len(held_out)} held-out files"
        f" (p95 {np.percentile(unrelated, 95):.1f} ms); CPU time p95 {np.percentile(cpu, 95):.1f}"
        f" ms; find_contained p95 {np.percentile(contained, 95):.1f} ms on the same queries"
        if clips
        else f"{len(index)} synthetic items; corpus absent, queries are synthetic"
    )
    return float(np.percentile(timings, 95)), what


def run(selected: list[str] | None) -> Iterator[Figure]:
    def wanted(name: str, half: str | None = None) -> bool:
        """Is figure `name` (of `half`: `name_half`) asked for, by its full name or a prefix?"""
        full = f"{name}_{half}" if half else name
        return selected is None or any(full.startswith(p) for p in selected)

    clips = load_corpus() if CORPUS.is_dir() else []
    halves = HALVES if clips and SPLIT_FILE.is_file() else ()
    for half in halves:
        # Every figure on each half of the split on its own: thresholds are tuned on the
        # calibration half only, so the evaluation half is what they do on unseen sounds.
        transforms = [t for t in TRANSFORMS if wanted(f"fingerprint_recall_{t}", half)]
        want_fpr = wanted("fingerprint_false_positive_rate", half)
        if want_fpr:
            transforms = list(TRANSFORMS)
        containment = (
            want_fpr
            or wanted("fingerprint_recall_containment", half)
            or wanted("fingerprint_recall_mix3", half)
        )
        if not (transforms or containment):
            continue
        sounds = half_clips(half, clips)
        tallies, false_matches, pairs, examples = evaluate(sounds, transforms, containment)
        for name, tally in tallies.items():
            figure = f"fingerprint_recall_{name}"
            if not wanted(figure, half):
                continue
            yield Figure(
                f"{figure}_{half}",
                round(tally.rate(), 4),
                f"recall over the {sum(tally.total.values())} sounds of the {half} half",
                TARGETS.get(name, RECALL_TARGET),
                peer=f"per class: {tally.per_class()}",
            )
        if want_fpr:
            yield Figure(
                f"fingerprint_false_positive_rate_{half}",
                false_matches / max(1, pairs),
                f"non-source matches per (query, unrelated indexed item) pair, {pairs} pairs,"
                f" {half} half",
                "<=0.001",
                peer=f"{false_matches} false matches; e.g. {', '.join(examples[:6]) or 'none'}",
            )
    if wanted("fingerprint_lookup_p95_ms_100k"):
        p95, what = lookup_p95(clips)
        yield Figure("fingerprint_lookup_p95_ms_100k", p95, "ms", "<=50", peer=what)
