// Pages whose next step is a change (marking notices read, asking Stripe for a fresh link,
// reading the account's state back from Stripe) render on GET and make the change with a POST
// form, CSRF token included: a prefetcher or a link preview that GETs the page changes nothing.
// This sends such a form as soon as the page loads; without JavaScript its button does.
//   data-auto-submit             submit the form as usual (the page moves on)
//   data-auto-submit="background" send it with fetch and stay on the page as rendered
(function () {
  "use strict";

  document.querySelectorAll("form[data-auto-submit]").forEach(function (form) {
    if (form.getAttribute("data-auto-submit") !== "background") {
      form.submit();
      return;
    }
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch" }
    }).then(function (response) {
      if (response.ok) { form.hidden = true; }
    }).catch(function () { /* the button is still there */ });
  });
})();
