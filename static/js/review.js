// Review pages: one player at a time, A/B comparison with a matched sound, and a decision form
// that shows only the fields the chosen decision needs. Works without it; this only helps.
(function () {
  "use strict";

  var players = Array.prototype.slice.call(document.querySelectorAll("audio[data-review-player]"));
  players.forEach(function (player) {
    player.addEventListener("play", function () {
      players.forEach(function (other) { if (other !== player) { other.pause(); } });
    });
  });

  // "Compare": play the matched sound from the stem's current position, so the curator hears
  // the same moment of both.
  var stemPlayer = players[0];
  document.querySelectorAll("button[data-compare]").forEach(function (button) {
    button.addEventListener("click", function () {
      var match = button.parentElement.querySelector("audio");
      if (!match || !stemPlayer) { return; }
      var playingStem = !stemPlayer.paused;
      var from = playingStem ? stemPlayer : match;
      var to = playingStem ? match : stemPlayer;
      try { to.currentTime = from.currentTime; } catch (e) { /* not loaded yet */ }
      to.play();
      button.textContent = playingStem ? "Back to the stem" : "Compare with the stem";
    });
  });

  var form = document.getElementById("decision-form");
  if (form) {
    var needs = {
      approve: ["justification"],
      reject: ["reason_template", "note"],
      request_changes: ["reason_template", "note"]
    };
    var update = function () {
      var chosen = form.querySelector("input[name=decision]:checked");
      var wanted = chosen ? needs[chosen.value] : null;
      form.querySelectorAll("[data-field]").forEach(function (field) {
        field.hidden = wanted !== null && wanted.indexOf(field.getAttribute("data-field")) === -1;
      });
    };
    form.addEventListener("change", update);
    update();
  }

  // Keyboard shortcuts (listed on the page under "Keyboard shortcuts"): c claims, a chooses
  // approve, r chooses reject, n opens the next stem, ? shows the list. A key typed into a
  // field is text, never a command, and a key with a modifier belongs to the browser.
  var typing = function (target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  };
  var choose = function (key, focusSelector) {
    var radio = document.querySelector("input[data-shortcut='" + key + "']");
    if (!radio || !form) { return false; }
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    var target = form.querySelector(focusSelector);
    if (target) { target.focus(); }
    return true;
  };
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) { return; }
    if (typing(event.target)) { return; }
    var key = event.key;
    var done = false;
    if (key === "c" || key === "n") {
      var control = document.querySelector("[data-shortcut='" + key + "']");
      if (control) { control.click(); done = true; }
    } else if (key === "a") {
      // A flagged stem needs its justification written before approval.
      var flagged = form && form.getAttribute("data-flagged") === "1";
      done = choose("a", flagged ? "[name=justification]" : "#decision-submit");
    } else if (key === "r") {
      done = choose("r", "[name=reason_template]");
    } else if (key === "?") {
      var list = document.getElementById("shortcuts");
      if (list) {
        list.open = !list.open;
        list.querySelector("summary").focus();
        done = true;
      }
    }
    if (done) { event.preventDefault(); }
  });

  document.querySelectorAll("form[data-confirm]").forEach(function (confirmForm) {
    confirmForm.addEventListener("submit", function (event) {
      if (!window.confirm(confirmForm.getAttribute("data-confirm"))) { event.preventDefault(); }
    });
  });
})();
