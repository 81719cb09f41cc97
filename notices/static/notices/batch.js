// Batch page: live sending progress while the batch is approved or sending.
(function () {
  "use strict";
  function ready() {
    var box = document.getElementById("batch-progress");
    if (!box) { return; }
    function poll() {
      fetch(box.dataset.url, { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
        .then(function (data) {
          document.getElementById("batch-status").textContent = data.status_label;
          var note = document.getElementById("window-note");
          note.textContent = data.note;
          note.classList.toggle("d-none", !data.note);
          box.innerHTML = "";
          data.counts.forEach(function (row) {
            var item = document.createElement("div");
            var link = document.createElement("a");
            link.href = data.messages_url + "&status__exact=" + row.status;
            var number = document.createElement("span");
            number.className = "fw-bold";
            number.dataset.status = row.status;
            number.textContent = row.count;
            link.appendChild(number);
            var label = document.createElement("span");
            label.className = "text-body-secondary";
            label.textContent = " " + row.label;
            item.appendChild(link);
            item.appendChild(label);
            box.appendChild(item);
          });
          if (data.poll_ms) { setTimeout(poll, data.poll_ms); }
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    poll();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
})();
