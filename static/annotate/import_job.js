// An import's page: poll its status JSON and show the rows done, then the counts or
// the bad rows. Polling stops once the import has ended.
(function () {
  "use strict";
  const root = document.getElementById("import-job");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const pollMs = Number(root.dataset.pollMs) || 1000;
  const FINAL = new Set(["succeeded", "failed"]);

  function setText(id, value) {
    document.getElementById(id).textContent =
      value === null || value === undefined ? "?" : String(value);
  }

  function fillList(id, lines) {
    const list = document.getElementById(id);
    list.replaceChildren.apply(list, lines.map(function (line) {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }

  function apply(status) {
    const state = document.getElementById("job-state");
    state.textContent = status.state_label;
    state.className = "state-" + status.state;
    const progress = status.progress;
    const bar = document.getElementById("job-bar");
    if (progress.percent === null) bar.removeAttribute("value");
    else bar.value = progress.percent;
    setText("job-phase", progress.phase);
    setText("job-done", progress.done);
    setText("job-total", progress.total);
    fillList("job-summary", status.summary);
    document.getElementById("job-summary").hidden = !status.summary.length;
    fillList("job-error-list", status.errors.map(function (error) {
      return (error.row === null ? "" : "row " + error.row + ": ") + error.message;
    }));
    document.getElementById("job-errors").hidden = !status.errors.length;
    return !FINAL.has(status.state);
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (status) {
        if (apply(status)) window.setTimeout(poll, pollMs);
      })
      .catch(function () {
        window.setTimeout(poll, pollMs * 2);  // the server restarting; try again
      });
  }

  const initialState = document.getElementById("job-state").className.replace("state-", "");
  if (!FINAL.has(initialState)) window.setTimeout(poll, pollMs);
})();
