// The console's live table: decision records from /console/events (Server-Sent Events),
// newest first, at most 200 rows. Text only (textContent): nothing from the stream is HTML.
(function () {
  "use strict";
  var table = document.querySelector("#live tbody");
  var status = document.getElementById("live-status");
  var onlyRefused = document.getElementById("only-refused");
  if (!table) { return; }
  var source = new EventSource("/console/events");
  source.addEventListener("open", function () { status.textContent = "(live)"; });
  source.addEventListener("error", function () { status.textContent = "(reconnecting…)"; });
  source.addEventListener("lagged", function (e) {
    status.textContent = "(live; " + e.data + " events skipped while the page fell behind)";
  });
  source.addEventListener("decision", function (e) {
    var r;
    try { r = JSON.parse(e.data); } catch (err) { return; }
    var refused = r.outcome === "deny" || r.outcome === "hold";
    if (onlyRefused && onlyRefused.checked && !refused) { return; }
    var row = document.createElement("tr");
    row.className = "outcome-" + r.outcome;
    var cells = [
      new Date(r.time_unix_ms).toISOString().replace("T", " ").slice(0, 19),
      (r.tenant ? r.tenant + "/" : "") + r.principal,
      r.method || r.kind,
      r.server ? r.server + (r.tool ? "/" + r.tool : "") : "",
      r.outcome,
      r.reason || ""
    ];
    cells.forEach(function (text) {
      var td = document.createElement("td");
      td.textContent = text;
      row.appendChild(td);
    });
    table.insertBefore(row, table.firstChild);
    while (table.rows.length > 200) { table.deleteRow(table.rows.length - 1); }
  });
})();
