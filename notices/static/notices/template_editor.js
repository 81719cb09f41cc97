// Template editor: placeholder buttons, live preview and the 70/67 part counter.
(function () {
  "use strict";
  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function ready() {
    var editor = document.getElementById("sms-editor");
    var body = document.querySelector("textarea[name=body]");
    if (!editor || !body) { return; }
    var purpose = document.querySelector("select[name=purpose]");
    var loan = document.getElementById("preview-loan");
    var byPurpose = JSON.parse(document.getElementById("placeholders-by-purpose").textContent);
    var timer = null;
    var sequence = 0;

    function showButtons() {
      var allowed = byPurpose[purpose ? purpose.value : "overdue_notice"] || [];
      editor.querySelectorAll("[data-placeholder]").forEach(function (button) {
        button.hidden = allowed.indexOf(button.dataset.placeholder) === -1;
      });
    }
    function insert(token) {
      var start = body.selectionStart || 0, end = body.selectionEnd || 0;
      body.value = body.value.slice(0, start) + token + body.value.slice(end);
      body.focus();
      body.selectionStart = body.selectionEnd = start + token.length;
      schedule();
    }
    function render(data) {
      document.getElementById("sms-preview").textContent = data.text;
      document.getElementById("sms-chars").textContent = data.chars;
      var parts = document.getElementById("sms-parts");
      parts.textContent = data.parts;
      parts.className = "badge fs-6 " + (data.parts > 1 ? "text-bg-warning" : "text-bg-primary");
      document.getElementById("sms-source").textContent = data.source;
      var list = document.getElementById("sms-problems");
      list.innerHTML = "";
      (data.problems || []).forEach(function (problem) {
        var item = document.createElement("li");
        item.textContent = problem;
        list.appendChild(item);
      });
    }
    function refresh() {
      var mine = ++sequence;
      var form = new FormData();
      form.append("body", body.value);
      form.append("purpose", purpose ? purpose.value : "");
      form.append("loan", loan.value);
      fetch(editor.dataset.previewUrl, {
        method: "POST",
        body: form,
        headers: { "X-CSRFToken": csrfToken() },
        credentials: "same-origin",
      }).then(function (response) { return response.json(); })
        .then(function (data) { if (mine === sequence) { render(data); } })
        .catch(function () {});
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    editor.querySelectorAll("[data-placeholder]").forEach(function (button) {
      button.addEventListener("click", function () { insert("{" + button.dataset.placeholder + "}"); });
    });
    body.addEventListener("input", schedule);
    loan.addEventListener("input", schedule);
    if (purpose) { purpose.addEventListener("change", function () { showButtons(); schedule(); }); }
    showButtons();
    refresh();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
