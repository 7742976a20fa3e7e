// Close-period form: show the pool in major units as it is typed, and ask once before closing,
// since a closed month cannot be reopened. The form works the same without this script.
(function () {
  "use strict";
  var form = document.getElementById("close-period-form");
  if (!form) return;
  var pool = form.querySelector("[name=pool_minor]");
  var currency = form.querySelector("[name=currency]");
  var month = form.querySelector("[name=month]");
  var preview = document.getElementById("pool-preview");
  var zeroDecimal = ["bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf"];

  function formatted() {
    var minor = parseInt(pool.value, 10);
    var code = (currency.value || "").trim().toLowerCase();
    if (isNaN(minor) || minor < 0 || code.length !== 3) return "";
    if (zeroDecimal.indexOf(code) >= 0) return minor.toLocaleString("en") + " " + code.toUpperCase();
    var whole = Math.floor(minor / 100).toLocaleString("en");
    var cents = String(minor % 100).padStart(2, "0");
    return whole + "." + cents + " " + code.toUpperCase();
  }

  function update() {
    var text = formatted();
    preview.textContent = text ? "Pool: " + text : "";
  }

  pool.addEventListener("input", update);
  currency.addEventListener("input", update);
  update();
  form.addEventListener("submit", function (event) {
    var text = formatted();
    if (text && !window.confirm("Close " + month.value + " and allocate " + text + "? This cannot be undone.")) {
      event.preventDefault();
    }
  });
})();
