// /listen/: the site's live player. Opens a stream session, plays its HLS playlist through
// the vendored hls.js (window.Hls, loaded by a classic script before this module), sends the
// controls and feedback, shows what is sounding and the seconds the server counted.
//
// Heartbeats confirm listening, and the server pays what they confirm (see
// portal/streams/services/counting.py), so the page sends one only while the audio is
// really playing in a visible tab and its playhead has moved since the last one: a paused or
// stalled player, or a hidden tab, confirms nothing.

const root = document.querySelector("[data-listen]");

const state = {
  session: null, // the session body the server answered (links, playlist_url, ...)
  hls: null,
  frag: null, // {sn, start}: the fragment at the playhead, to map media time to stream time
  lastBeat: -1, // the stream position of the last heartbeat sent
  beating: false, // a heartbeat request in flight
  starting: false,
};

function el(selector) {
  return root.querySelector(selector);
}

function say(text) {
  el("[data-listen-status]").textContent = text;
}

async function call(url, method, body) {
  const response = await fetch(url, {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      "Content-Type": "application/json",
      "X-CSRFToken": root.dataset.csrf,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = new Error((data.error && data.error.message) || `HTTP ${response.status}`);
    error.code = data.error && data.error.code;
    throw error;
  }
  return data;
}

// The stream position (seconds since the session's origin) of the playhead: the playlist's
// media sequence numbers are segment indexes, each segment_seconds long.
function position() {
  const audio = el("[data-listen-audio]");
  if (!state.frag) return null;
  const seconds = Number(root.dataset.segmentSeconds);
  return Math.max(0, state.frag.sn * seconds + (audio.currentTime - state.frag.start));
}

function showCounted(seconds) {
  el("[data-listen-counted]").textContent = Number(seconds).toFixed(0);
  root.dataset.counted = String(seconds);
}

function showNowPlaying(data) {
  const list = el("[data-listen-now]");
  list.replaceChildren();
  if (!data.stems || data.stems.length === 0) {
    const empty = document.createElement("li");
    empty.className = "muted";
    empty.textContent = "Nothing yet.";
    list.append(empty);
    return;
  }
  for (const stem of data.stems) {
    const item = document.createElement("li");
    item.dataset.stemId = String(stem.id);
    const title = document.createElement("strong");
    title.textContent = stem.title;
    item.append(title, ` (${stem.role}) by ${stem.artists.join(", ")}`);
    list.append(item);
  }
}

function setFeedbackEnabled(enabled) {
  for (const button of root.querySelectorAll("[data-listen-feedback]")) {
    button.disabled = !enabled;
  }
}

function ended(error) {
  // The server ended the session (idle, or ended elsewhere): start afresh on the next play.
  if (error && error.code === "session_over") {
    teardown();
    say("This stream ended. Press play to start a new one.");
    return true;
  }
  return false;
}

function teardown() {
  if (state.hls) state.hls.destroy();
  state.hls = null;
  state.session = null;
  state.frag = null;
  state.lastBeat = -1;
  el("[data-listen-play]").textContent = "Play";
  setFeedbackEnabled(false);
}

function playing() {
  const audio = el("[data-listen-audio]");
  return !audio.paused && !audio.ended && audio.readyState >= 3 && !document.hidden;
}

async function heartbeat(force) {
  const session = state.session;
  const at = position();
  if (!session || at === null || state.beating) return;
  if (!force && (!playing() || at <= state.lastBeat)) return;
  state.beating = true;
  state.lastBeat = at;
  try {
    const data = await call(session.links.heartbeat, "POST", { position_s: at });
    showCounted(data.counted_s);
  } catch (error) {
    if (!ended(error)) say(`Could not confirm playback: ${error.message}`);
  } finally {
    state.beating = false;
  }
}

async function refreshNowPlaying() {
  const session = state.session;
  const at = position();
  if (!session) return;
  const query = at === null ? "" : `?position_s=${at.toFixed(3)}`;
  try {
    showNowPlaying(await call(session.links["now-playing"] + query, "GET"));
  } catch (error) {
    ended(error);
  }
}

// The server answers 404 (with Retry-After) for a playlist with no segment ready yet or a
// segment still rendering; hls.js retries only 5xx and network errors by default, so a fresh
// session on a busy worker would fail at once. Retry those 404s for about twenty seconds.
function patient() {
  const retry = {
    maxNumRetry: 20,
    retryDelayMs: 500,
    maxRetryDelayMs: 2000,
    shouldRetry: (config, count, timeout, response, usual) =>
      usual || (Boolean(response) && response.code === 404 && count < config.maxNumRetry),
  };
  return {
    default: {
      maxTimeToFirstByteMs: 10000,
      maxLoadTimeMs: 20000,
      timeoutRetry: { maxNumRetry: 2, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: retry,
    },
  };
}

function attach(session) {
  const audio = el("[data-listen-audio]");
  // enableWorker: false: the site's Content-Security-Policy has no worker-src or blob:, and
  // hls.js would start its transmuxing worker from a blob: URL. FLAC in fMP4 needs no
  // transmuxing, so the main thread loses nothing.
  // lowLatencyMode: the playlist declares CAN-BLOCK-RELOAD=YES, and in this mode hls.js asks
  // for the next segment at once (?_HLS_msn=N) instead of reloading every target duration; the
  // server holds that request until the segment is published (portal/streams/playback.py), so
  // the player has it the moment it may, which is what lets the server publish only half a
  // second ahead and a control change be heard that much sooner. A held request lasts at most
  // three target durations (6 s, then 503, retried below), under maxTimeToFirstByteMs.
  const hls = new window.Hls({
    lowLatencyMode: true,
    enableWorker: false,
    manifestLoadPolicy: patient(),
    playlistLoadPolicy: patient(),
    fragLoadPolicy: patient(),
  });
  hls.on(window.Hls.Events.FRAG_CHANGED, (event, data) => {
    state.frag = { sn: Number(data.frag.sn), start: Number(data.frag.start) };
  });
  hls.on(window.Hls.Events.ERROR, (event, data) => {
    if (data.fatal) say(`Playback problem: ${data.details}. Press play to try again.`);
  });
  hls.loadSource(session.playlist_url);
  hls.attachMedia(audio);
  state.hls = hls;
}

async function start() {
  const session = await call(root.dataset.startUrl, "POST", {
    mood: el("[data-listen-mood]").value,
    intensity: Number(el("[data-listen-intensity]").value),
  });
  state.session = session;
  root.dataset.sessionId = session.id;
  showCounted(session.counted_s);
  attach(session);
}

async function stillLive() {
  try {
    const body = await call(state.session.links.detail, "GET");
    return body.status === "live";
  } catch {
    return false;
  }
}

async function togglePlay() {
  const audio = el("[data-listen-audio]");
  const play = el("[data-listen-play]");
  if (state.starting) return;
  if (!audio.paused) {
    audio.pause();
    return;
  }
  state.starting = true;
  try {
    if (state.session && !(await stillLive())) teardown();
    if (!state.session) {
      say("Starting the stream…");
      await start();
    } else if (state.hls) {
      state.hls.startLoad();
    }
    await audio.play();
    play.textContent = "Pause";
  } catch (error) {
    say(`Could not play: ${error.message}`);
  } finally {
    state.starting = false;
  }
}

async function sendControls(change) {
  if (!state.session) return; // used when the stream starts
  try {
    const data = await call(state.session.links.controls, "POST", change);
    say(`Changed; heard from ${data.heard_from_s.toFixed(1)} s into the stream.`);
  } catch (error) {
    if (!ended(error)) say(`Could not change it: ${error.message}`);
  }
}

async function sendFeedback(event) {
  if (!state.session) return;
  try {
    const data = await call(state.session.links.feedback, "POST", { event });
    const done = { like: "Liked", dislike: "Disliked", skip: "Skipped" }[event];
    say(`${done}; heard from ${data.heard_from_s.toFixed(1)} s into the stream.`);
  } catch (error) {
    if (!ended(error)) say(`Could not send it: ${error.message}`);
  }
}

function wire() {
  const audio = el("[data-listen-audio]");
  const play = el("[data-listen-play]");
  const intensity = el("[data-listen-intensity]");
  const seconds = Number(root.dataset.segmentSeconds) || 2;

  play.addEventListener("click", togglePlay);
  el("[data-listen-mood]").addEventListener("change", (event) => {
    sendControls({ mood: event.target.value });
  });
  intensity.addEventListener("input", () => {
    el("[data-listen-intensity-value]").textContent = Number(intensity.value).toFixed(2);
  });
  intensity.addEventListener("change", () => sendControls({ intensity: Number(intensity.value) }));
  for (const button of root.querySelectorAll("[data-listen-feedback]")) {
    button.addEventListener("click", () => sendFeedback(button.dataset.listenFeedback));
  }

  audio.addEventListener("playing", () => {
    setFeedbackEnabled(true);
    say("Playing.");
  });
  audio.addEventListener("pause", () => {
    // Confirm what was played up to the pause, once; then nothing until it plays again.
    heartbeat(true);
    if (state.hls) state.hls.stopLoad(); // nobody listens: no fetches, no renders ahead
    play.textContent = "Play";
    say("Paused.");
  });
  audio.addEventListener("waiting", () => say("Buffering…"));

  window.setInterval(() => {
    if (!playing()) return;
    heartbeat(false);
    refreshNowPlaying();
  }, seconds * 1000);

  // Leaving the page: end the session with the position reached (keepalive outlives the page).
  window.addEventListener("pagehide", () => {
    const session = state.session;
    const at = position();
    if (!session) return;
    fetch(session.links.end, {
      method: "POST",
      keepalive: true,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": root.dataset.csrf },
      body: JSON.stringify(at === null ? {} : { position_s: at }),
    });
  });
}

if (root) wire();
