// Feedback reply box: a chosen template fills the text box (never over what staff wrote
// without asking), and the preview shows exactly what will be sent, with its characters,
// SMS parts (counted by the server as the carrier links split them) and when it goes.
(function () {
  "use strict";
  function ready() {
    var box = document.getElementById("reply-box");
    if (!box) { return; }
    var form = box.querySelector("form");
    var select = form.querySelector("select[name=template]");
    var text = form.querySelector("textarea[name=text]");
    var conflict = document.getElementById("template-conflict");
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    var lastFill = "";  // the text the last template put in the box
    var pending = null;  // a template's text waiting for "replace"
    var chosen = select.value;  // the template the box's text came from
    var timer = null;
    var sequence = 0;

    function post(fields) {
      var data = new FormData();
      Object.keys(fields).forEach(function (key) { data.append(key, fields[key]); });
      return fetch(box.dataset.previewUrl, {
        method: "POST",
        body: data,
        headers: { "X-CSRFToken": token },
        credentials: "same-origin",
      }).then(function (response) { return response.json(); });
    }
    function render(data) {
      document.getElementById("sms-preview").textContent = data.text;
      document.getElementById("sms-chars").textContent = data.chars;
      var parts = document.getElementById("sms-parts");
      parts.textContent = data.parts;
      parts.className = "badge " + (data.parts > 1 ? "text-bg-warning" : "text-bg-primary");
      document.getElementById("reply-when").textContent = data.when;
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
      post({ text: text.value }).then(function (data) { if (mine === sequence) { render(data); } })
        .catch(function () {});
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    function fill(value) {
      text.value = value;
      lastFill = value;
      pending = null;
      chosen = select.value;
      conflict.classList.add("d-none");
      refresh();
      text.focus();
    }
    select.addEventListener("change", function () {
      if (!select.value) {  // "write my own": what is in the box stays
        chosen = "";
        conflict.classList.add("d-none");
        return;
      }
      post({ template: select.value, text: text.value }).then(function (data) {
        if (data.fill === undefined) { return; }
        if (!text.value.trim() || text.value === lastFill) {
          fill(data.fill);
        } else {
          pending = data.fill;
          conflict.classList.remove("d-none");
          document.getElementById("template-replace").focus();
        }
      }).catch(function () {});
    });
    document.getElementById("template-replace").addEventListener("click", function () {
      if (pending !== null) { fill(pending); }
    });
    document.getElementById("template-keep").addEventListener("click", function () {
      pending = null;
      select.value = chosen;
      conflict.classList.add("d-none");
      text.focus();
    });
    text.addEventListener("input", schedule);
    refresh();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
