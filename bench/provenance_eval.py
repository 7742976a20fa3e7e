"""Provenance verdicts on sounds the thresholds never saw: false rejections, containment flags
and right-reason rates, on both halves of the committed corpus split (bench.provenance_split)
and per class (one-shot, loop, long).

Per half, the items (corpus files plus the long stems bounced from that half's loops) are dealt
into two folds. Each fold in turn is the vault: its items are indexed as stems, and each gets a
30 s preview render (itself repeated, against two other vault stems at the same level, as
previews are planned) indexed as platform output with the stems it holds. The other fold's items
are *unrelated originals* uploaded against that vault (an item is never compared with material
it was made from). Copies are the vault's own items after an MP3 round trip; render excerpts
are 6-12 s cut from a preview at -2 dB. Every upload is judged with the portal's rules
(`judge`): near-duplicate by the fingerprint and the explained energy share, refused only on
conclusive evidence (renderer.fingerprint.conclusive), containment flagged, self-output refused
on conclusive evidence unless one of the render's stems explains the match.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from bench import Figure
from bench.fingerprint import CORPUS, Clip, load_corpus, t_mp3
from bench.provenance_split import CLASSES, HALVES, RELATED, SPLIT_FILE, bounce, load_split
from portal.stems.evidence import (
    NEAR_DUPLICATE_EXPLAINED,
    NEAR_DUPLICATE_OVERLAP,
    explained_share,
    explaining_stems,
)
from renderer.audio import Audio
from renderer.fingerprint import (
    Fingerprint,
    FingerprintIndex,
    Match,
    conclusive,
    fingerprint,
    is_shifted,
)

FIGURES: tuple[str, ...] = tuple(
    f"{name}_{half}"
    for half in HALVES
    for name in (
        "provenance_false_rejection_rate",
        "containment_flag_rate_unrelated",
        "containment_false_match_rate",
        "provenance_flag_rate_unrelated",
        "provenance_copy_rejected_right_reason",
        "provenance_render_excerpt_rejected",
    )
)
SEED = 20261203
PREVIEW_S = 30.0
Array = npt.NDArray[np.float32]


@dataclass
class Item:
    name: str
    samples: Array
    rate: int
    cls: str
    sources: frozenset[str]  # the corpus files it is made of (itself, for a corpus file)
    fp: Fingerprint | None = None

    @property
    def audio(self) -> Audio:
        return Audio(self.samples, self.rate)


def related(a: Item, b: Item) -> bool:
    if a.sources & b.sources:
        return True
    return any(x in group and y in group for group in RELATED for x in a.sources for y in b.sources)


def half_items(half: str, clips: dict[str, Clip]) -> list[Item]:
    split = load_split()
    items = [
        Item(n, clips[n].samples, clips[n].rate, split.classes[n], frozenset({n}))
        for n in split.names(half)
        if n in clips
    ]
    sources = {n: (clips[n].samples, clips[n].rate) for n in split.names(half) if n in clips}
    for recipe in split.long[half]:
        used = frozenset(s["source"] for s in recipe["sections"])
        if used <= set(sources):
            items.append(Item(recipe["name"], bounce(recipe, sources), 44_100, "long", used))
    for item in items:
        item.fp = fingerprint(item.samples, item.rate)
    return items


def folds(items: list[Item]) -> tuple[list[Item], list[Item]]:
    """Alternate within each class, in name order: both folds hold every class."""
    a: list[Item] = []
    b: list[Item] = []
    for cls in CLASSES:
        for i, item in enumerate(sorted((x for x in items if x.cls == cls), key=lambda x: x.name)):
            (a if i % 2 == 0 else b).append(item)
    return a, b


def _mono(samples: Array, rate: int, target: int) -> Array:
    from bench.fingerprint import resample

    mono = samples.mean(axis=1, keepdims=True).astype(np.float32)
    return mono if rate == target else resample(mono, rate, target)


def _tile(x: Array, frames: int) -> Array:
    reps = -(-frames // max(1, x.shape[0]))
    return np.tile(x, (reps, 1))[:frames]


@dataclass
class Render:
    key: str
    samples: Array
    rate: int
    stem_names: set[str]
    fp: Fingerprint | None = None


def previews(vault: list[Item], rng: np.random.Generator) -> list[Render]:
    rate = 44_100
    frames = int(PREVIEW_S * rate)
    out = []
    for item in vault:
        others = [v for v in vault if v is not item and not related(v, item)]
        context = [others[int(j)] for j in rng.choice(len(others), 2, replace=False)]
        layers = [_tile(_mono(x.samples, x.rate, rate), frames) for x in [item, *context]]
        rms = [
            max(float(np.sqrt(np.mean(layer.astype(np.float64) ** 2))), 1e-9) for layer in layers
        ]
        mix = sum(layer * np.float32(0.1 / r) for layer, r in zip(layers, rms, strict=True))
        mix = np.asarray(mix, np.float32)
        mix *= np.float32(0.9 / max(float(np.max(np.abs(mix))), 1e-9))
        render = Render(f"preview:{item.name}", mix, rate, {x.name for x in [item, *context]})
        render.fp = fingerprint(mix, rate)
        out.append(render)
    return out


@dataclass
class Verdict:
    rejected: bool = False
    reason: str = ""  # "near_duplicate" / "self_output" when rejected
    near: list[str] = field(default_factory=list)  # stems judged the same sound
    flags: list[str] = field(default_factory=list)  # checks that flagged
    contained: list[str] = field(default_factory=list)  # stems containment found
    renders: list[str] = field(default_factory=list)  # renders self-output matched
    self_output_refused: bool = False


def judge(
    upload: Audio,
    fp: Fingerprint,
    stems: FingerprintIndex,
    by_name: dict[str, Item],
    renders: FingerprintIndex,
    render_stems: dict[str, set[str]],
) -> Verdict:
    """The portal's verdict rules (portal.stems.provenance_checks), without the database."""
    verdict = Verdict()
    copies: dict[str, int] = {}
    for match in stems.query(fp, limit=20):
        other = by_name[match.key]
        if not is_shifted(match):
            share, overlap = explained_share(
                upload,
                other.audio,
                query_offset_s=match.query_offset_s,
                item_offset_s=match.item_offset_s,
            )
            if share < NEAR_DUPLICATE_EXPLAINED or overlap < NEAR_DUPLICATE_OVERLAP:
                continue
        copies[match.key] = match.matched_hashes
        verdict.near.append(match.key)
        if conclusive(match):
            verdict.rejected, verdict.reason = True, verdict.reason or "near_duplicate"
        else:
            verdict.flags.append("near_duplicate")
    layered = stems.find_contained(fp, limit=20)
    found = [m for m in layered if m.key not in copies]
    verdict.contained = [m.key for m in found]
    if found:
        verdict.flags.append("containment")
    matched: dict[str, Match] = {m.key: m for m in renders.find_contained(fp, limit=5)}
    for m in renders.query(fp, limit=5):
        if m.key not in matched or m.score > matched[m.key].score:
            matched[m.key] = m
    # Held stems explain a render match only when the upload is refused as a copy anyway
    # (see explaining_stems).
    held = {c.key: c.matched_hashes for c in layered} if verdict.rejected else {}
    for key, m in matched.items():
        if explaining_stems(m.matched_hashes, render_stems[key], copies, held):
            continue
        verdict.renders.append(key)
        if conclusive(m):
            verdict.rejected, verdict.reason = True, verdict.reason or "self_output"
            verdict.self_output_refused = True
        else:
            verdict.flags.append("self_output")
    return verdict


@dataclass
class Counts:
    n: int = 0
    hits: int = 0

    def add(self, hit: bool) -> None:
        self.n += 1
        self.hits += bool(hit)

    def rate(self) -> float:
        return self.hits / max(1, self.n)


@dataclass
class HalfResult:
    rejected: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    contain_flagged: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    flagged: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    contain_false: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    copy_right: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    excerpt: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    examples: list[str] = field(default_factory=list)


def evaluate_half(items: list[Item]) -> HalfResult:
    result = HalfResult()
    rng = np.random.default_rng([SEED, len(items)])
    for vault, outsiders in (folds(items), folds(items)[::-1]):
        by_name = {v.name: v for v in vault}
        rendered = previews(vault, rng)
        render_stems = {r.key: r.stem_names for r in rendered}
        built: dict[frozenset[str], tuple[FingerprintIndex, FingerprintIndex]] = {}

        def indexes(
            without: frozenset[str],
            vault: list[Item] = vault,
            rendered: list[Render] = rendered,
            built: dict[frozenset[str], tuple[FingerprintIndex, FingerprintIndex]] = built,
        ) -> tuple[FingerprintIndex, FingerprintIndex]:
            """The vault and its previews less what an upload was made from."""
            if without not in built:
                stems, renders = FingerprintIndex(), FingerprintIndex()
                for v in vault:
                    if v.name not in without and v.fp is not None:
                        stems.add(v.name, v.fp)
                for r in rendered:
                    if not r.stem_names & without and r.fp is not None:
                        renders.add(r.key, r.fp)
                built[without] = (stems, renders)
            return built[without]

        stems, renders = indexes(frozenset())
        for item in outsiders:
            assert item.fp is not None
            without = frozenset(x.name for x in vault if related(x, item))
            unrelated = [x for x in vault if x.name not in without]
            v = judge(
                item.audio,
                item.fp,
                *indexes(without)[:1],
                by_name,
                indexes(without)[1],
                render_stems,
            )
            wrong = list(v.contained)
            result.rejected[item.cls].add(v.rejected)
            result.contain_flagged[item.cls].add(bool(wrong))
            result.flagged[item.cls].add(bool(v.flags))
            counts = result.contain_false[item.cls]
            counts.n += len(unrelated)
            counts.hits += len(wrong)
            if v.rejected or wrong:
                result.examples.append(
                    f"{item.name}:{'rejected ' + v.reason if v.rejected else ''}"
                    f"{' contains ' + ','.join(wrong) if wrong else ''}"
                )
        for v_item in vault:
            samples, rate = t_mp3(Clip(v_item.name, v_item.samples, v_item.rate), rng)
            copy = Audio(samples, rate)
            v = judge(copy, fingerprint(samples, rate), stems, by_name, renders, render_stems)
            # The right reason: refused as a copy of that stem, and not as platform output.
            result.copy_right[v_item.cls].add(
                v.rejected
                and v.reason == "near_duplicate"
                and v_item.name in v.near
                and not v.self_output_refused
            )
        for r in rendered:
            start = float(rng.uniform(0.0, PREVIEW_S - 12.0))
            length = float(rng.uniform(6.0, 12.0))
            cut = r.samples[int(start * r.rate) : int((start + length) * r.rate)] * np.float32(0.8)
            v = judge(
                Audio(cut, r.rate), fingerprint(cut, r.rate), stems, by_name, renders, render_stems
            )
            cls = by_name[r.key.split(":", 1)[1]].cls  # the class of the stem it previews
            result.excerpt[cls].add(v.rejected and v.reason == "self_output")
    return result


def _per_class(counts: dict[str, Counts]) -> str:
    return "; ".join(
        f"{cls} {counts[cls].hits}/{counts[cls].n} = {counts[cls].rate():.4f}" for cls in CLASSES
    )


def _total(counts: dict[str, Counts]) -> Counts:
    return Counts(sum(c.n for c in counts.values()), sum(c.hits for c in counts.values()))


def run(selected: list[str] | None = None) -> Iterator[Figure]:
    if selected and not any(name.startswith(s) for name in FIGURES for s in selected):
        return
    if not CORPUS.is_dir() or not SPLIT_FILE.is_file():
        return
    clips = {c.name: c for c in load_corpus()}
    for half in HALVES:
        res = evaluate_half(half_items(half, clips))
        rows: Iterable[tuple[str, dict[str, Counts], str, str]] = (
            (
                "provenance_false_rejection_rate",
                res.rejected,
                "==0",
                "unrelated originals refused (any check)",
            ),
            (
                "containment_flag_rate_unrelated",
                res.contain_flagged,
                "<=0.01",
                "unrelated originals with a containment flag naming an unrelated stem",
            ),
            (
                "containment_false_match_rate",
                res.contain_false,
                "<=0.001",
                "containment matches per (unrelated original, unrelated vault stem) pair",
            ),
            (
                "provenance_flag_rate_unrelated",
                res.flagged,
                "",
                "unrelated originals sent to curators with any provenance flag",
            ),
            (
                "provenance_copy_rejected_right_reason",
                res.copy_right,
                "",
                "MP3 copies of vault stems refused as a copy of that stem, and not as platform output",
            ),
            (
                "provenance_render_excerpt_rejected",
                res.excerpt,
                "",
                "6-12 s excerpts of preview renders refused as self-output",
            ),
        )
        for name, counts, target, what in rows:
            total = _total(counts)
            yield Figure(
                f"{name}_{half}",
                round(total.rate(), 5),
                f"{what}; {half} half, {total.hits}/{total.n}",
                target,
                peer=f"per class: {_per_class(counts)}"
                + (
                    f"; e.g. {', '.join(res.examples[:4])}"
                    if name.startswith("provenance_false")
                    else ""
                ),
            )
