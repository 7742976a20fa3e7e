"""The stream's delivery format plays in real Chromium through the vendored hls.js: FLAC in fMP4,
with the signed manifest box in every segment, across segment boundaries without a stall.

The files are static (made by renderer.stream.hls) and served by a plain http.server thread, so
this checks the format and the player alone; the portal's /listen/ page has its own test."""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.renderer.stream.hls_files import SEGMENT, chirp_and_noise, write_stream

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SEGMENTS = 9  # 18 s: playback past 10 s crosses five boundaries with segments still ahead

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>hls</title><link rel="icon" href="data:,"><script src="hls.min.js"></script></head>
<body><audio id="player" muted autoplay></audio>
<script>
const audio = document.getElementById("player");
const state = {playing: false, stalls: [], fatal: [], errors: [], fragments: [], codecs: null};
window.state = state;
audio.addEventListener("playing", () => { state.playing = true; });
for (const kind of ["waiting", "stalled"]) {
  audio.addEventListener(kind, () => { if (state.playing) state.stalls.push([kind, audio.currentTime]); });
}
audio.addEventListener("error", () => state.fatal.push("media error " + (audio.error && audio.error.code)));
const hls = new Hls();
hls.on(Hls.Events.ERROR, (event, data) => {
  (data.fatal ? state.fatal : state.errors).push(data.type + ": " + data.details);
});
hls.on(Hls.Events.BUFFER_CODECS, (event, data) => {
  state.codecs = data.audio ? data.audio.container + ";codecs=" + data.audio.codec : null;
});
hls.on(Hls.Events.FRAG_CHANGED, (event, data) => state.fragments.push(data.frag.sn));
hls.loadSource("main.m3u8");
hls.attachMedia(audio);
audio.play().catch((e) => state.fatal.push("play(): " + e));
</script></body></html>
"""


class _QuietHandler(SimpleHTTPRequestHandler):
    extensions_map = {
        ".m3u8": "application/vnd.apple.mpegurl",
        ".mp4": "audio/mp4",
        ".m4s": "audio/mp4",
        ".js": "text/javascript",
        ".html": "text/html",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stream_url(tmp_path: Path) -> Iterator[str]:
    write_stream(tmp_path, chirp_and_noise(SEGMENTS * SEGMENT), ended=True, manifests=True)
    shutil.copy(ROOT / "static" / "vendor" / "hls" / "hls.min.js", tmp_path / "hls.min.js")
    (tmp_path / "index.html").write_text(PAGE)
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_chromium_plays_flac_in_fmp4_through_hls_js_across_segment_boundaries(
    browser: Any, stream_url: str
) -> None:
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on(
        "console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None
    )
    try:
        page.goto(stream_url)
        # Real-time playback: about 11 s of audio must go by.
        page.wait_for_function(
            "document.getElementById('player').currentTime > 10.5 || window.state.fatal.length",
            timeout=60_000,
        )
        state = page.evaluate("window.state")
        audio = page.evaluate(
            "(() => { const a = document.getElementById('player');"
            " return {t: a.currentTime, decoded: a.webkitAudioDecodedByteCount, paused: a.paused}; })()"
        )
    finally:
        context.close()
    assert state["fatal"] == []
    assert state["errors"] == []
    assert problems == []
    assert state["codecs"] is not None and "fl" in state["codecs"].lower()
    assert audio["t"] > 10.5 and not audio["paused"]
    assert audio["decoded"] > 0  # the FLAC decoder ran, not just a clock
    assert state["stalls"] == []
    # Six fragments played in turn: five boundaries crossed.
    assert state["fragments"][:6] == [0, 1, 2, 3, 4, 5]
