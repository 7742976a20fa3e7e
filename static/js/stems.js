// Stems: upload progress on the contribute form, job progress on a stem page. No dependencies;
// without JavaScript the form posts normally and the stem page shows its state on reload.
(function () {
  "use strict";

  function bindUpload(form) {
    var box = document.querySelector(".upload-progress");
    var bar = document.getElementById("upload-progress");
    var text = document.getElementById("upload-progress-text");
    if (!window.FormData || !bar) return;
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
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
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (type.indexOf("application/json") === 0) {
          var body = JSON.parse(xhr.responseText);
          if (body.redirect) { window.location.assign(body.redirect); return; }
        }
        // The form came back with errors: show it in place of this one.
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var main = doc.querySelector("main");
        if (main) {
          document.querySelector("main").replaceWith(main);
          var next = document.querySelector("form[data-upload-progress]");
          if (next) { bindUpload(next); bindPerFile(next); }
          var alert = document.getElementById("contribute-error");
          if (alert) { alert.setAttribute("tabindex", "-1"); alert.focus(); }
        }
      };
      xhr.onerror = function () {
        text.textContent = "The upload failed (network error). Try again.";
        if (button) button.disabled = false;
      };
      xhr.send(new FormData(form));
    });
  }

  // Several files: one row per file for what differs between them (title, role, tempo, bars,
  // key); the server reads the rows as a Django formset ("file-N-bpm", ...).
  function bindPerFile(form) {
    var input = form.querySelector("input[type=file][name=audio_files]");
    var box = form.querySelector("[data-per-file-details]");
    var template = document.getElementById("file-details-row");
    if (!input || !box || !template || !("content" in template)) return;
    var rows = box.querySelector("tbody");
    var total = box.querySelector("input[name$=TOTAL_FORMS]");
    function rebuild() {
      var files = input.files || [];
      var several = files.length > 1;
      rows.textContent = "";
      box.hidden = !several;
      total.value = several ? String(files.length) : "0";
      if (!several) return;
      Array.prototype.forEach.call(files, function (file, index) {
        var row = template.content.firstElementChild.cloneNode(true);
        row.querySelector("[data-file-name]").textContent = file.name;
        row.querySelectorAll("input, select").forEach(function (field) {
          field.name = field.name.replace("__prefix__", index);
          field.id = field.id.replace("__prefix__", index);
          field.setAttribute("aria-label", field.closest("td").getAttribute("data-label") + " of " + file.name);
        });
        rows.appendChild(row);
      });
    }
    input.addEventListener("change", rebuild);
    rebuild();
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
        status.textContent = job.status + ", " + job.progress + "%";
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
  if (form) { bindUpload(form); bindPerFile(form); }
  var job = document.querySelector("[data-job-url]");
  if (job) pollJob(job);
})();
