// Stems: the contribute form's queue of files (drop or choose, hear, see, measured, each with its
// own details; every error shown at once beside its file and field, the files kept), upload
// progress, and job progress on a stem page. No dependencies; without JavaScript the form posts
// normally and the stem page shows its state on reload.
(function () {
  "use strict";

  var MEASURE_MAX_BYTES = 50 * 1000 * 1000; // larger files are judged when sent, not before

  function csrfToken(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  // The queue: every file chosen or dropped, kept here (not in the file input) so that a refused
  // contribution keeps them all, and each gets its own row of details, a player and a waveform.
  function bindQueue(form) {
    var input = form.querySelector("input[type=file][name=audio_files]");
    var box = form.querySelector("[data-per-file-details]");
    var template = document.getElementById("file-details-row");
    var zone = form.querySelector("[data-drop-zone]");
    if (!input || !box || !template || !("content" in template) || !window.FormData) return null;
    var rows = box.querySelector("tbody");
    var total = box.querySelector("input[name$=TOTAL_FORMS]");
    var queue = []; // {file, row, url}
    var hint = form.querySelector("[data-drop-hint]");
    if (hint) hint.hidden = false;

    function reindex() {
      queue.forEach(function (item, index) {
        item.row.querySelectorAll("input, select").forEach(function (field) {
          var name = field.getAttribute("data-field");
          field.name = "file-" + index + "-" + name;
          field.id = "id_file-" + index + "-" + name;
        });
      });
      total.value = String(queue.length);
      box.hidden = queue.length === 0;
      input.required = queue.length === 0;
    }

    function drawWaveform(canvas, peaks) {
      var context = canvas.getContext && canvas.getContext("2d");
      if (!context || !peaks.length) return;
      var width = canvas.width, height = canvas.height, middle = height / 2;
      context.clearRect(0, 0, width, height);
      context.fillStyle = getComputedStyle(canvas).color || "#333";
      var step = width / peaks.length;
      peaks.forEach(function (pair, index) {
        var top = middle - Math.max(0, pair[1]) * middle;
        var bottom = middle - Math.min(0, pair[0]) * middle;
        context.fillRect(index * step, top, Math.max(1, step - 0.5), Math.max(1, bottom - top));
      });
      canvas.setAttribute("data-drawn", String(peaks.length));
    }

    function fillIfEmpty(row, name, value) {
      var field = row.querySelector("[data-field=" + name + "]");
      if (!field || value === null || value === undefined || field.value) return;
      field.value = String(value);
      field.classList.add("is-measured");
    }

    function measure(item) {
      var note = item.row.querySelector("[data-file-measured]");
      if (item.file.size > MEASURE_MAX_BYTES) {
        note.textContent = "Too large to measure before sending; it is checked when you send it.";
        return;
      }
      var body = new FormData();
      body.append("file", item.file, item.file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.getAttribute("data-measure-url"));
      xhr.setRequestHeader("X-CSRFToken", csrfToken(form));
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.onload = function () {
        var data = null;
        try { data = JSON.parse(xhr.responseText); } catch (e) { data = null; }
        if (xhr.status !== 200 || !data) {
          note.textContent = "";
          showFileError(item.row, "files", (data && data.message) || "This file could not be measured.");
          return;
        }
        var parts = [data.duration_s.toFixed(2) + " s"];
        if (data.bpm_estimate) parts.push(data.bpm_estimate.toFixed(1) + " BPM");
        if (data.bars_estimate) parts.push(data.bars_estimate + " bar" + (data.bars_estimate === 1 ? "" : "s"));
        var kinds = { "one-shot": "a one-shot", loop: "a loop", stem: "a stem" };
        var text = "Measured: " + parts.join(", ") + "; sounds like " + kinds[data.suggested_kind] + ".";
        if (data.bpm_estimate) text += " Tempo and bars filled in where empty: check them.";
        note.textContent = text;
        item.row.setAttribute("data-measured", "1");
        // The kind stays the artist's choice (the shared one unless this row sets its own).
        fillIfEmpty(item.row, "bpm", data.bpm_estimate);
        fillIfEmpty(item.row, "bars", data.bars_estimate);
        drawWaveform(item.row.querySelector("[data-file-waveform]"), data.waveform || []);
      };
      xhr.onerror = function () { note.textContent = "Could not measure the file (network error)."; };
      xhr.send(body);
    }

    function add(files) {
      Array.prototype.forEach.call(files, function (file) {
        var duplicate = queue.some(function (item) {
          return item.file.name === file.name && item.file.size === file.size;
        });
        if (duplicate) return;
        var row = template.content.firstElementChild.cloneNode(true);
        row.querySelector("[data-file-name]").textContent = file.name;
        row.querySelectorAll("input, select").forEach(function (field) {
          field.setAttribute("data-field", field.name.replace(/^file-__prefix__-/, ""));
          field.setAttribute("aria-label", field.closest("td").getAttribute("data-label") + " of " + file.name);
        });
        var item = { file: file, row: row, url: URL.createObjectURL(file) };
        row.querySelector("[data-file-preview]").src = item.url;
        row.querySelector("[data-file-preview]").setAttribute("aria-label", "Play " + file.name);
        row.querySelector("[data-remove-file]").setAttribute("aria-label", "Remove " + file.name);
        row.querySelector("[data-remove-file]").addEventListener("click", function () {
          URL.revokeObjectURL(item.url);
          row.remove();
          queue.splice(queue.indexOf(item), 1);
          reindex();
        });
        rows.appendChild(row);
        queue.push(item);
        measure(item);
      });
      reindex();
      input.value = ""; // the queue holds them; the same file may be chosen again after removal
    }

    input.addEventListener("change", function () { add(input.files || []); });
    if (zone) {
      ["dragenter", "dragover"].forEach(function (type) {
        zone.addEventListener(type, function (event) {
          event.preventDefault();
          zone.classList.add("is-dragging");
        });
      });
      ["dragleave", "drop"].forEach(function (type) {
        zone.addEventListener(type, function () { zone.classList.remove("is-dragging"); });
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        if (event.dataTransfer && event.dataTransfer.files) add(event.dataTransfer.files);
      });
    }
    return {
      files: function () { return queue.map(function (item) { return item.file; }); },
      rows: function () { return queue.map(function (item) { return item.row; }); },
    };
  }

  function showFileError(row, field, message) {
    var slot = row.querySelector("[data-file-error=" + field + "]") || row.querySelector("[data-file-error=files]");
    slot.textContent = slot.hidden ? message : slot.textContent + " " + message;
    slot.hidden = false;
    var input = row.querySelector("[data-field=" + field + "]");
    if (input) input.setAttribute("aria-invalid", "true");
  }

  function clearErrors(form) {
    form.querySelectorAll("[data-js-error]").forEach(function (node) { node.remove(); });
    form.querySelectorAll(".has-error").forEach(function (node) { node.classList.remove("has-error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (node) { node.removeAttribute("aria-invalid"); });
    form.querySelectorAll("[data-file-error]").forEach(function (node) { node.hidden = true; node.textContent = ""; });
  }

  // Every error at once, beside its field or its file; the form and the queue stay as they were.
  function showErrors(form, queue, body) {
    clearErrors(form);
    var box = document.getElementById("contribute-error");
    var general = [];
    Object.keys(body.errors || {}).forEach(function (name) {
      var field = form.querySelector("[name=" + name + "]");
      var holder = field && field.closest(".field");
      if (!holder) { general = general.concat(body.errors[name]); return; }
      holder.classList.add("has-error");
      field.setAttribute("aria-invalid", "true");
      body.errors[name].forEach(function (message) {
        var p = document.createElement("p");
        p.className = "error";
        p.setAttribute("data-js-error", "");
        p.textContent = message;
        holder.appendChild(p);
      });
    });
    var rows = queue ? queue.rows() : [];
    (body.file_errors || []).forEach(function (problem) {
      var row = rows[problem.index];
      if (row) showFileError(row, problem.field, problem.message);
      else general.push(problem.file + ": " + problem.message);
    });
    box.querySelector("[data-error-message]").textContent = [body.message].concat(general).join(" ");
    box.hidden = false;
    box.focus();
  }

  function bindUpload(form, queue) {
    var box = document.querySelector(".upload-progress");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-progress-text");
    if (!window.FormData || !bar) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      var data = new FormData(form);
      if (queue) {
        data.delete("audio_files");
        queue.files().forEach(function (file) { data.append("audio_files", file, file.name); });
      }
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      box.hidden = false;
      if (button) button.disabled = true;
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        var percent = Math.round((e.loaded / e.total) * 100);
        bar.value = percent;
        bar.textContent = percent + "%";
        text.textContent = percent < 100 ? "Uploading… " + percent + "%" : "Uploaded; checking the files…";
      };
      xhr.onload = function () {
        if (button) button.disabled = false;
        var body = null;
        if ((xhr.getResponseHeader("Content-Type") || "").indexOf("application/json") === 0) {
          try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
        }
        if (body && body.redirect) { window.location.assign(body.redirect); return; }
        box.hidden = true;
        showErrors(form, queue, body || {
          message: "The server refused the upload (HTTP " + xhr.status + "). Nothing was saved; try again.",
        });
      };
      xhr.onerror = function () {
        text.textContent = "The upload failed (network error). Nothing was saved; try again.";
        if (button) button.disabled = false;
      };
      xhr.send(data);
    });
  }

  // "Fingerprinting the sound, 45% — about 20 s left": the stage and the estimate the job API
  // gives (portal/jobs/progress.py); the estimate is left out until the API has one.
  function timeLeft(seconds) {
    if (seconds < 60) return "about " + Math.max(1, Math.round(seconds)) + " s left";
    return "about " + Math.round(seconds / 60) + " min left";
  }
  function jobSentence(job) {
    var stage = job.stage || job.status;
    var text = stage.charAt(0).toUpperCase() + stage.slice(1) + ", " + job.progress + "%";
    if (job.eta_s !== null && job.eta_s !== undefined) text += " — " + timeLeft(job.eta_s);
    return text;
  }

  function pollJob(box) {
    var url = box.getAttribute("data-job-url");
    var bar = box.querySelector("progress");
    var status = box.querySelector("[data-job-status]");
    function tick() {
      var xhr = new XMLHttpRequest();
      xhr.open("GET", url);
      xhr.setRequestHeader("Accept", "application/json");
      xhr.onload = function () {
        if (xhr.status !== 200) return;
        var job = JSON.parse(xhr.responseText);
        bar.value = job.progress;
        bar.textContent = job.progress + "%";
        status.textContent = jobSentence(job);
        if (job.status === "done") { window.location.reload(); return; }
        if (job.status === "failed") {
          status.textContent = "The checks could not finish: " + job.error + " Staff have been told; try again later.";
          return;
        }
        window.setTimeout(tick, 1500);
      };
      xhr.send();
    }
    window.setTimeout(tick, 1000);
  }

  var form = document.querySelector("form[data-upload-progress]");
  if (form) bindUpload(form, bindQueue(form));
  var job = document.querySelector("[data-job-url]");
  if (job) pollJob(job);
})();
