/* Loan-book import: poll the import's status and move the progress bar; when the check
   or the apply has finished, go on to the preview or the result page. */
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box) { return; }
  var bar = document.getElementById("progress-bar");
  var wrap = document.getElementById("progress-bar-wrap");
  var text = document.getElementById("progress-text");
  var phase = document.getElementById("progress-phase");
  var url = box.getAttribute("data-status-url");
  var failures = 0;

  function show(percent) {
    bar.style.width = percent + "%";
    bar.textContent = percent + "%";
    wrap.setAttribute("aria-valuenow", String(percent));
  }

  function update(data) {
    if (data.next) {
      show(100);
      window.location.assign(data.next);
      return;
    }
    show(data.percent || 0);
    var label = data.status === "running" ? "data-label-apply"
      : data.status === "validating" ? "data-label-validate" : "data-label-waiting";
    phase.textContent = box.getAttribute(label);
    text.textContent = (data.rows || 0).toLocaleString() + " " + box.getAttribute("data-label-rows") +
      " · " + data.status_label;
    window.setTimeout(poll, 1000);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) { failures = 0; update(data); })
      .catch(function () {
        failures += 1;
        text.textContent = box.getAttribute("data-label-lost");
        window.setTimeout(poll, Math.min(10000, 1000 * failures));
      });
  }

  show(parseInt(bar.getAttribute("data-percent"), 10) || 0);
  poll();
})();
