// Live progress: every few seconds, ask genmcp for the running jobs on this page and update their rows.
// The page is complete without this script; it only keeps the "running" rows fresh.
(function () {
  "use strict";
  var INTERVAL = 3000;
  function running() {
    return Array.prototype.slice.call(document.querySelectorAll('tr[data-job][data-status="running"]'));
  }
  function update(row, job) {
    row.setAttribute("data-status", job.status);
    var status = row.querySelector('[data-field="status"]');
    if (status) { status.textContent = job.status; status.className = "status status-" + job.status; }
    var cost = row.querySelector('[data-field="cost"]');
    if (cost) { cost.textContent = job.cost; }
    var stage = row.querySelector('[data-field="stage"]');
    if (stage) { stage.textContent = job.stage; }
    var bar = row.querySelector('[data-field="progress"]');
    if (bar && job.progress !== null && job.progress !== undefined) { bar.value = job.progress; }
    if (bar && job.status !== "running") { bar.remove(); }
  }
  function tick() {
    var rows = running();
    if (!rows.length) { return; }
    var ids = rows.map(function (row) { return row.getAttribute("data-job"); }).join(",");
    fetch("/ui/jobs.json?ids=" + encodeURIComponent(ids), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : {}; })
      .then(function (jobs) {
        rows.forEach(function (row) {
          var job = jobs[row.getAttribute("data-job")];
          if (job) { update(row, job); }
        });
      })
      .catch(function () { /* offline for a moment: try again at the next tick */ })
      .then(function () { window.setTimeout(tick, INTERVAL); });
  }
  window.setTimeout(tick, INTERVAL);
})();
