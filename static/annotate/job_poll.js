// A background job's page (an import in the admin, an export on the site, a round):
// poll its status JSON until the job has ended. followJob also shows the state and
// progress bar import and export pages share, and lets the page show the rest.
window.rankwiseJobs = (function () {
  "use strict";
  const FINAL = new Set(["succeeded", "failed"]);

  // Fetch statusUrl every pollMs and hand it to apply(status), while apply returns
  // true; a failed fetch (the server restarting) is tried again after twice as long.
  function pollStatus(statusUrl, pollMs, apply) {
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
          window.setTimeout(poll, pollMs * 2);
        });
    }
    window.setTimeout(poll, pollMs);
  }

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

    if (!FINAL.has(state.dataset.state)) pollStatus(statusUrl, pollMs, apply);
  }

  return { followJob: followJob, pollStatus: pollStatus, setText: setText };
})();
