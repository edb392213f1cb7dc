// A background job's page (an import in the admin, an export on the site): poll its
// status JSON, show its state and progress bar, and let the page show the rest; polling
// stops once the job has ended. The page's own script calls followJob.
window.rankwiseJobs = (function () {
  "use strict";
  const FINAL = new Set(["succeeded", "failed"]);

  function setText(id, value) {
    document.getElementById(id).textContent =
      value === null || value === undefined ? "?" : String(value);
  }

  // rootId: the element holding data-status-url (and data-poll-ms); show(status):
  // what the page adds to the state, bar, done and total every job page has.
  function followJob(rootId, show) {
    const root = document.getElementById(rootId);
    if (!root) return;
    const statusUrl = root.dataset.statusUrl;
    const pollMs = Number(root.dataset.pollMs) || 1000;
    const state = document.getElementById("job-state");

    function apply(status) {
      state.textContent = status.state_label;
      state.dataset.state = status.state;
      const progress = status.progress;
      const bar = document.getElementById("job-bar");
      // No percent: still working (an indeterminate bar), or stopped without one.
      if (progress.percent !== null) bar.value = progress.percent;
      else if (FINAL.has(status.state)) bar.value = 0;
      else bar.removeAttribute("value");
      setText("job-done", progress.done);
      setText("job-total", progress.total);
      show(status);
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

    if (!FINAL.has(state.dataset.state)) window.setTimeout(poll, pollMs);
  }

  return { followJob: followJob, setText: setText };
})();
