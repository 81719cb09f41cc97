// Template editor: placeholder buttons, live preview (for one loan and for three, or a
// chosen customer first) and the 70/67 part counter.
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
    function partsBadge(element, parts) {
      element.textContent = parts;
      element.className = "badge " + (parts > 1 ? "text-bg-warning" : "text-bg-primary");
    }
    function renderings(list) {
      // Every rendering after the first (the chosen customer's, or one loan): one loan,
      // three loans, each with its characters and SMS parts.
      var box = document.getElementById("sms-renderings");
      box.innerHTML = "";
      list.slice(1).forEach(function (item, index) {
        var block = document.createElement("div");
        block.className = "sms-rendering mb-2";
        block.dataset.label = item.label;
        var head = document.createElement("div");
        head.className = "small text-body-secondary mb-1";
        var chars = document.createElement("span");
        chars.className = "sms-rendering-chars";
        chars.textContent = item.chars;
        var parts = document.createElement("span");
        parts.id = "sms-parts-" + (index + 1);
        parts.className = "sms-rendering-parts";
        partsBadge(parts, item.parts);
        head.append(item.label + " · ", chars, " " + box.dataset.labelChars + " · ", parts, " " + box.dataset.labelParts);
        var text = document.createElement("div");
        text.className = "sms-preview";
        text.id = "sms-preview-" + (index + 1);
        text.textContent = item.text;
        block.append(head, text);
        box.appendChild(block);
      });
    }
    function render(data) {
      document.getElementById("sms-preview").textContent = data.text;
      document.getElementById("sms-chars").textContent = data.chars;
      var parts = document.getElementById("sms-parts");
      parts.textContent = data.parts;
      parts.className = "badge fs-6 " + (data.parts > 1 ? "text-bg-warning" : "text-bg-primary");
      var first = (data.renderings || [])[0];
      document.getElementById("sms-source").textContent =
        data.source + (first && first.label ? " · " + first.label : "");
      renderings(data.renderings || []);
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
      var stage = document.querySelector("select[name=stage]");
      form.append("stage", stage ? stage.value : "");
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
    var stageSelect = document.querySelector("select[name=stage]");
    if (stageSelect) { stageSelect.addEventListener("change", schedule); }
    if (purpose) { purpose.addEventListener("change", function () { showButtons(); schedule(); }); }
    showButtons();
    refresh();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
