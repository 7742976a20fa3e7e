// Soundtrack page: poll the render's status until it is done, then reload to show the player.
(function () {
  "use strict";
  var box = document.querySelector("[data-mix-progress]");
  if (!box) return;
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-mix-progress-text]");
  var delay = 1000;

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (mix) {
        bar.value = mix.progress;
        bar.textContent = mix.progress + "%";
        // The stage and estimated time left the API gives (portal/jobs/progress.py).
        var left = mix.eta_s === null || mix.eta_s === undefined ? "" :
          " — about " + (mix.eta_s < 60 ? Math.max(1, mix.eta_s) + " s" : Math.round(mix.eta_s / 60) + " min") + " left";
        text.textContent = (mix.stage || mix.status) + ": " + mix.progress + "%" + left;
        if (mix.status === "done" || mix.status === "failed") {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A hiccup (network, server restart): back off and try again.
        delay = Math.min(delay * 2, 10000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
