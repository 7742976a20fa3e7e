"""The live player end to end (issue 15, item 10): render-ahead speed, time to first audio and the
latency of a control change. Each broker's run is a probe process of its own (bench/_stream_probe.py)
with a fresh SQLite database and storage under a temporary VAR_DIR and the demo vault seeded
through the product's services.

Figures:
- stream_segment_rtf: seconds of stream audio per wall second of one pinned core, rendered by
  `stream_render_ahead` as the worker runs it (vault version and read, plan, mix, loudness
  rider, limiter, dither, encode, manifest, signature, embed, store, commit, self-output
  fingerprints), one run of S seconds; target >= 300. stream_segment_rtf_cpu: the same per CPU
  second (on a shared machine the pinned core is not ours alone: cpu/wall says how much of it
  we had).
- stream_segment_rtf_steady: the same pipeline as a session somebody listens to has it once its
  lead is met: a render job every STREAM_RENDER_BATCH segments, each through the job system
  (claim, session, last state, timeline, render, succeed); the peer gives its ratio to the run's
  figure, measured in the same probe (what a job's own reads cost).
- stream_segment_stage_ms_<stage>: wall ms per segment in each stage of the run, so the gap
  to 300 (6.7 ms per 2 s segment) is explained; "other" is the loop's own DB reads (the
  listener's feedback, the first segment's state).
- stream_first_audio_ms_<broker> (median) and _p95: from the session POST (the real API, the demo
  app's credential) to its first segment listed in the playlist, fetched and decoded; target
  <= 1000 ms. On the embedded default and, when a Redis answers at BENCH_REDIS_URL, on Redis with
  a `rundramatiq` worker process.
- stream_control_latency_s (median) and _p95: heard_from_s of a controls POST's answer minus the
  playhead at the POST (wall time since the session's origin: a player playing in real time),
  over POSTs at random moments while a player thread fetches in real time; target p95 <= one
  segment plus one bar at the session's tempo (computed from the settings and printed). What the
  latency is made of, by the code: a change starts at the segment after max(delivered, published
  edge), a segment being published STREAM_PUBLISH_AHEAD_S (0.5 s) before it plays, so that
  segment starts 0.5 to 2.5 s after the playhead; then the first bar line at or after its start
  (the carried plan stops at each segment's end; the rider's look-ahead reads a throwaway copy),
  0 to 1 bar: so from 0.5 s to 2.5 s + 1 bar, and over a segment + a bar only when the playhead
  is within 0.5 s before a publication and the bar line falls late (about 2% of moments at 90
  bpm). The peer also says whether each change's first segment was rendered before its play
  time (a late one would be a stall) and how long after the POST it was ready, and how each
  segment reached the player thread: it holds a blocking reload for the next segment
  (`_HLS_msn`, as hls.js in lowLatencyMode does), so a segment arrives just after its
  publication, and one arriving after its play time is a stall of the real-time player whose
  playhead the latency is measured from.

The API is called in process through Django's test client (same middleware, authentication and
views, no socket), so the HTTP server's own cost is not in these figures.
"""

from __future__ import annotations

import os
import statistics
import tempfile
from collections.abc import Iterable
from typing import Any

from bench import Figure, bench_redis_url, run_probe

STAGES = (
    "vault",
    "plan_mix_master",
    "manifest",
    "sign",
    "dither",
    "encode",
    "embed",
    "store",
    "commit",
    "fingerprint",
    "other",
)
FIGURES = (
    "stream_segment_rtf",
    "stream_segment_rtf_cpu",
    "stream_segment_rtf_steady",
    *(f"stream_segment_stage_ms_{stage}" for stage in STAGES),
    "stream_first_audio_ms_embedded",
    "stream_first_audio_ms_embedded_p95",
    "stream_first_audio_ms_redis",
    "stream_first_audio_ms_redis_p95",
    "stream_control_latency_s",
    "stream_control_latency_s_p95",
)


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, -(-len(ordered) * 95 // 100) - 1)]


def _probe(
    broker_url: str | None, *, seconds: float, sessions: int, posts: int, stems: int
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stemvault-bench-stream-") as var_dir:
        env = {
            key: value
            for key, value in os.environ.items()
            if key not in {"DATABASE_URL", "BROKER_URL", "CACHE_URL", "AWS_STORAGE_BUCKET_NAME"}
        }
        env.update(VAR_DIR=var_dir, ALLOWED_HOSTS="testserver", JOB_SWEEP_INTERVAL_S="5")
        if broker_url:
            env["BROKER_URL"] = broker_url
        args = ["bench._stream_probe", f"--seconds={seconds}", f"--sessions={sessions}"]
        args += [f"--posts={posts}", f"--stems={stems}"]
        data: dict[str, Any] = run_probe(args, env=env, timeout=1800)
        return data


def _render_figures(rtf: dict[str, Any]) -> Iterable[Figure]:
    audio, wall, cpu = rtf["audio_s"], rtf["wall_s"], rtf["cpu_s"]
    segments = rtf["segments"]
    yield Figure(
        "stream_segment_rtf",
        round(audio / wall, 1),
        f"x real time, one core ({audio:.0f} s of audio, {segments} segments)",
        ">= 300",
        peer=f"cpu/wall {cpu / wall:.2f}; {wall / segments * 1000:.1f} ms per segment",
    )
    yield Figure(
        "stream_segment_rtf_cpu",
        round(audio / cpu, 1),
        "x real time per CPU second",
        ">= 300",
    )
    budget_ms = audio / segments / 300 * 1000
    for stage in STAGES:
        spent = rtf["stages_s"].get(stage, 0.0)
        yield Figure(
            f"stream_segment_stage_ms_{stage}",
            round(spent / segments * 1000, 2),
            "ms wall per segment",
            f"all stages <= {budget_ms:.1f} ms together",
            peer=f"{spent / wall:.0%} of the pipeline",
        )


def _steady_figure(steady: dict[str, Any], run: dict[str, Any]) -> Figure:
    audio, wall, cpu, segments = (steady[k] for k in ("audio_s", "wall_s", "cpu_s", "segments"))
    return Figure(
        "stream_segment_rtf_steady",
        round(audio / wall, 1),
        f"x real time, one core, a listened session's render jobs ({segments} segments)",
        ">= 300",
        peer=f"cpu/wall {cpu / wall:.2f}; {wall / segments * 1000:.1f} ms per segment, "
        f"{audio / cpu:.1f} x per CPU second; "
        f"{(audio / wall) / (run['audio_s'] / run['wall_s']):.2f} x the run's figure",
    )


def _first_audio_figures(kind: str, timings: list[float]) -> Iterable[Figure]:
    peer = f"{len(timings)} sessions, distinct seeds; min {min(timings):.0f} ms"
    unit = f"ms, POST to first segment decoded, median of {len(timings)}"
    yield Figure(
        f"stream_first_audio_ms_{kind}",
        round(statistics.median(timings), 1),
        unit,
        "<= 1000",
        peer=peer,
    )
    yield Figure(
        f"stream_first_audio_ms_{kind}_p95",
        round(_p95(timings), 1),
        f"ms, POST to first segment decoded, p95 of {len(timings)}",
        "<= 1000",
    )


def _margin_note(margins: list[float], after_post: list[float]) -> str:
    if not margins:
        return "no changed segment left to check (each discarded by the next POST)"
    late = sum(m < 0 for m in margins)
    return (
        f"first changed segment ready {min(margins):.2f} s before its play time at worst "
        f"({late} of {len(margins)} late), {statistics.median(after_post) * 1000:.0f} ms after "
        f"the POST (median; max {max(after_post) * 1000:.0f} ms)"
    )


def _arrival_note(control: dict[str, Any]) -> str:
    arrivals = control.get("arrival_margins_s") or []
    if not arrivals:
        return ""
    late = sum(m < 0 for m in arrivals)
    return (
        f"; publish-ahead {control['publish_ahead_s']:g} s: {late} of {len(arrivals)} segments "
        f"reached the player after their play time, the closest {min(arrivals):.2f} s before "
        f"(median {statistics.median(arrivals):.2f} s)"
        + (
            f"; held reloads answered {statistics.median(lags) * 1000:.0f} ms after the "
            f"publication (median; max {max(lags) * 1000:.0f} ms)"
            if (lags := control.get("answer_lags_s"))
            else ""
        )
    )


def _control_figures(control: dict[str, Any]) -> Iterable[Figure]:
    latencies = control["latencies_s"]
    segment_s = control["segment_s"]
    tempo = min(control["tempos"]) if control["tempos"] else None  # the longest bar heard
    bar_s = 4 * 60 / tempo if tempo else 0.0
    target = f"p95 <= {segment_s + bar_s:.2f} s (segment {segment_s:g} s + bar {bar_s:.2f} s at {tempo or '?'} bpm)"
    yield Figure(
        "stream_control_latency_s",
        round(statistics.median(latencies), 3),
        f"s, controls POST to changed audio at the playhead, median of {len(latencies)}",
        target,
        peer=f"min {min(latencies):.2f} s, max {max(latencies):.2f} s; "
        f"{control['delivered']} segments delivered to the player meanwhile; "
        + _margin_note(control.get("margins_s", []), control.get("ready_after_post_s", []))
        + _arrival_note(control),
    )
    yield Figure(
        "stream_control_latency_s_p95",
        round(_p95(latencies), 3),
        f"s, p95 of {len(latencies)}",
        target,
    )


def run(
    selected: list[str] | None = None,
    *,
    seconds: float = 60.0,
    sessions: int = 10,
    posts: int = 20,
    stems: int = 0,
) -> Iterable[Figure]:
    def wanted(prefix: str) -> bool:
        return not selected or any(
            name.startswith(prefix) and any(name.startswith(s) for s in selected)
            for name in FIGURES
        )

    render_s = seconds if wanted("stream_segment") else 0.0
    opened = sessions if wanted("stream_first_audio_ms_embedded") else 0
    controls = posts if wanted("stream_control") else 0
    embedded = (
        _probe(None, seconds=render_s, sessions=opened, posts=controls, stems=stems)
        if render_s or opened or controls
        else {}
    )
    if "rtf" in embedded:
        yield from _render_figures(embedded["rtf"])
    if "rtf_steady" in embedded:
        yield _steady_figure(embedded["rtf_steady"], embedded["rtf"])
    if "first_audio_ms" in embedded:
        yield from _first_audio_figures("embedded", embedded["first_audio_ms"])
    if "control" in embedded:
        yield from _control_figures(embedded["control"])
    if wanted("stream_first_audio_ms_redis") and (
        url := bench_redis_url("stream_first_audio_ms_redis")
    ):
        redis = _probe(url, seconds=0, sessions=sessions, posts=0, stems=stems)
        yield from _first_audio_figures("redis", redis["first_audio_ms"])
