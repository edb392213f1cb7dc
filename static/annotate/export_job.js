// An export job's page: poll its status JSON and show the annotations read and rows
// written, then the download link or why it failed. Polling stops once it has ended.
(function () {
  "use strict";
  const root = document.getElementById("export-job");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const pollMs = Number(root.dataset.pollMs) || 1000;
  const FINAL = new Set(["succeeded", "failed"]);

  function setText(id, value) {
    document.getElementById(id).textContent =
      value === null || value === undefined ? "?" : String(value);
  }

  // As Django's filesizeformat writes it: 1,024 bytes to the KB.
  function fileSize(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    const units = ["KB", "MB", "GB", "TB"];
    let size = bytes / 1024;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return size.toFixed(1) + " " + units[unit];
  }

  function apply(status) {
    const state = document.getElementById("job-state");
    state.textContent = status.state_label;
    state.dataset.state = status.state;
    const progress = status.progress;
    const bar = document.getElementById("job-bar");
    if (progress.percent === null) bar.removeAttribute("value");
    else bar.value = progress.percent;
    setText("job-done", progress.done);
    setText("job-total", progress.total);
    setText("job-rows", progress.rows);
    if (status.state === "succeeded") {
      document.getElementById("job-download").textContent = "Download " + status.file_name;
      setText("job-size", fileSize(status.size_bytes));
      // An ISO time in UTC, "2026-12-02T11:27:49Z": its date and minute.
      setText("job-expires", status.expires_at.slice(0, 16).replace("T", " "));
      document.getElementById("job-ready").hidden = false;
    }
    if (status.error) {
      document.getElementById("job-error").textContent = "Nothing to download: " + status.error;
      document.getElementById("job-error").hidden = false;
    }
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

  if (!FINAL.has(document.getElementById("job-state").dataset.state)) {
    window.setTimeout(poll, pollMs);
  }
})();
