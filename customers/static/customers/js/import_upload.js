/* Loan-book upload: when the chosen file's name holds a date (逾期清单_20261127.xlsx,
   book-2026-11-27.csv), pre-fill the data date with it and say so. The server checks the
   title line of the file too and warns on the preview when the dates disagree. */
(function () {
  "use strict";
  var input = document.querySelector("input[type=file][name=file]");
  var date = document.querySelector("input[name=as_of]");
  var note = document.getElementById("as-of-from-name");
  if (!input || !date || !note) { return; }
  var pattern = /(?:^|\D)(20\d{2})[-_.年/]?(\d{2})[-_.月/]?(\d{2})(?!\d)/;

  input.addEventListener("change", function () {
    var file = input.files && input.files[0];
    var found = file ? pattern.exec(file.name) : null;
    if (!found) { note.classList.add("d-none"); return; }
    var text = found[1] + "-" + found[2] + "-" + found[3];
    var parsed = new Date(text + "T00:00:00");
    if (isNaN(parsed.getTime()) || parsed.getMonth() + 1 !== parseInt(found[2], 10)) { return; }
    date.value = text;
    note.textContent = note.getAttribute("data-label") + " " + text;
    note.classList.remove("d-none");
  });
})();
