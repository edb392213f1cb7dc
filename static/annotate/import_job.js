// An import's page: the phase and rows done, then the counts or the bad rows
// (job_poll.js follows the job).
(function () {
  "use strict";

  function fillList(id, lines) {
    const list = document.getElementById(id);
    list.replaceChildren.apply(list, lines.map(function (line) {
      const item = document.createElement("li");
      item.textContent = line;
      return item;
    }));
  }

  window.rankwiseJobs.followJob("import-job", function (status) {
    window.rankwiseJobs.setText("job-phase", status.progress.phase);
    fillList("job-summary", status.summary);
    document.getElementById("job-summary").hidden = !status.summary.length;
    fillList("job-error-list", status.errors.map(function (error) {
      return (error.row === null ? "" : "row " + error.row + ": ") + error.message;
    }));
    document.getElementById("job-errors").hidden = !status.errors.length;
  });
})();
