// An export job's page: the annotations read and rows written, then the download link
// or why it failed (job_poll.js follows the job).
(function () {
  "use strict";
  const setText = window.rankwiseJobs.setText;

  // As Django's filesizeformat writes it: 1,024 bytes to the KB.
  function fileSize(bytes) {
    if (bytes < 1024) return bytes + " bytes";
    const units = ["KB", "MB", "GB", "TB"];
    let size = bytes / 1024;
    let unit = 0;
    while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
    return size.toFixed(1) + " " + units[unit];
  }

  window.rankwiseJobs.followJob("export-job", function (status) {
    setText("job-rows", status.progress.rows);
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
  });
})();
