(function () {
  "use strict";
  // manual.html's one script (its Content-Security-Policy allows it by its sha256, nothing else): the
  // points and comments typed into the page as a manual.csv that merge-manual reads. It reads the fields'
  // values and data- attributes (text) and writes textContent only: nothing of the page becomes markup.
  var FORMULA_START = __FORMULA_START__;
  function neutralize(text) {  // the kit's CSV writer's (engine.results.neutralize): OWASP's leading quote
    text = text == null ? "" : String(text);
    for (var i = 0; i < FORMULA_START.length; i++) {
      if (text.lastIndexOf(FORMULA_START[i], 0) === 0) return "'" + text;
    }
    return text;
  }
  function cell(text) {  // Python's csv.writer (QUOTE_MINIMAL): quoted when it holds a comma, quote or line break
    return /[",\r\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }
  function buildCsv(root) {
    var named = root.getAttribute("data-named") === "1";
    var subs = [], rows = {}, questions = [], bad = null;
    var fields = root.querySelectorAll("input.points");
    for (var i = 0; i < fields.length; i++) {
      var f = fields[i];
      var sub = f.getAttribute("data-submission"), q = f.getAttribute("data-question");
      if (!rows.hasOwnProperty(sub)) { rows[sub] = {who: f.getAttribute("data-who") || "", answers: {}}; subs.push(sub); }
      if (questions.indexOf(q) < 0) questions.push(q);
      var note = document.getElementById(f.getAttribute("data-comment") || "");
      if (bad === null && !f.checkValidity()) bad = f;
      rows[sub].answers[q] = {points: f.value.trim(), max: f.getAttribute("data-max"),
                              comment: note ? note.value.trim() : ""};
    }
    var lines = [["submission"].concat(named ? ["submitters"] : [], ["question", "points", "max_points", "comment"])];
    subs.forEach(function (sub) {
      questions.forEach(function (q) {
        var a = rows[sub].answers[q];
        if (!a) return;
        lines.push([neutralize(sub)].concat(named ? [neutralize(rows[sub].who)] : [],
                   [q, neutralize(a.points), a.max, neutralize(a.comment)]));
      });
    });
    return {csv: lines.map(function (l) { return l.map(cell).join(","); }).join("\n") + "\n", invalid: bad};
  }
  window.manualCsv = function () { return buildCsv(document.getElementById("manual")).csv; };
  var button = document.getElementById("download-csv"), status = document.getElementById("download-status");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    var root = document.getElementById("manual"), made = buildCsv(root);
    if (made.invalid) {
      status.textContent = root.getAttribute("data-invalid");
      made.invalid.focus();
      made.invalid.reportValidity();
      return;
    }
    var url = URL.createObjectURL(new Blob([made.csv], {type: "text/csv;charset=utf-8"}));
    var link = document.createElement("a");
    link.href = url;
    link.download = "manual.csv";
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
    status.textContent = root.getAttribute("data-saved");
  });
})();
