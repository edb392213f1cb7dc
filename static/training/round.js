// Live round page: poll the status JSON and update the stepper, the job bars, the
// log, the evaluation and the plots in place. Polling stops once the round is over.
(function () {
  "use strict";
  const root = document.getElementById("round-live");
  if (!root) return;
  const statusUrl = root.dataset.statusUrl;
  const pollMs = Number(root.dataset.pollMs) || 2000;
  const FINAL = new Set(["done", "cancelled"]);

  function setText(element, value) {
    if (element) element.textContent = value === null || value === undefined ? "" : String(value);
  }

  function empty(value) {
    return value === null || value === undefined || value === "";
  }

  function updateRound(round) {
    const state = document.getElementById("round-state");
    setText(state, round.state_label);
    state.className = "state-" + round.state;
    document.getElementById("round-cancel-requested").hidden =
      !round.cancel_requested || round.state === "cancelled";
    document.getElementById("cancel-form").hidden = !round.can_cancel;
    document.getElementById("relaunch-form").hidden = !round.can_relaunch;
    const error = document.getElementById("round-error");
    setText(error, round.error);
    error.hidden = empty(round.error);
  }

  function updateSteps(steps) {
    steps.forEach(function (step) {
      const item = document.querySelector('#stepper [data-step="' + step.state + '"]');
      if (item) item.className = "step step-" + step.status;
    });
  }

  function updateLineage(lineage) {
    document.querySelectorAll("[data-lineage]").forEach(function (element) {
      const value = lineage[element.dataset.lineage];
      setText(element, empty(value) ? "—" : value);
    });
  }

  function runElement(run) {
    const existing = document.querySelector('#runs [data-run-id="' + run.id + '"]');
    if (existing) return existing;
    const template = document.getElementById("run-template");
    const element = template.content.firstElementChild.cloneNode(true);
    element.dataset.runId = run.id;
    const placeholder = document.getElementById("no-runs");
    if (placeholder) placeholder.remove();
    document.getElementById("runs").appendChild(element);
    return element;
  }

  function updateRun(run) {
    const element = runElement(run);
    element.className = "run run-" + run.status;
    element.querySelectorAll("[data-run]").forEach(function (field) {
      setText(field, run[field.dataset.run]);
    });
    element.querySelectorAll("[data-meta]").forEach(function (item) {
      item.hidden = empty(run[item.dataset.meta]);
    });
    const bar = element.querySelector(".bar");
    bar.setAttribute("aria-valuenow", run.percent);
    element.querySelector(".bar-fill").style.width = run.percent + "%";
  }

  function updateLog(log) {
    const tail = document.getElementById("log-tail");
    const atBottom = tail.scrollTop + tail.clientHeight >= tail.scrollHeight - 4;
    setText(document.getElementById("log-run"), log.run);
    setText(tail, log.text || "(empty)");
    if (atBottom) tail.scrollTop = tail.scrollHeight;
  }

  function updateEvaluation(evaluation) {
    const about = document.getElementById("evaluation-about");
    if (evaluation.note) setText(about, evaluation.note);
    else if (evaluation.judge) {
      setText(about, "Every policy of the lineage on " + evaluation.prompts +
        " held-out prompt" + (evaluation.prompts === 1 ? "" : "s") +
        ", scored by one judge: " + evaluation.judge + ".");
    }
    const warning = document.getElementById("evaluation-warning");
    setText(warning, evaluation.warning);
    warning.hidden = !evaluation.warning;
    const table = document.getElementById("evaluation");
    table.hidden = !evaluation.rows.length;
    if (!evaluation.rows.length) return;
    const body = table.querySelector("tbody");
    body.replaceChildren.apply(body, evaluation.rows.map(function (policy) {
      const row = document.createElement("tr");
      [policy.round, policy.name, policy.roles].concat(policy.values).forEach(function (value, index) {
        const cell = document.createElement("td");
        if (index > 2) cell.className = "number";
        cell.textContent = value;
        row.append(cell);
      });
      return row;
    }));
  }

  function updatePlots(versions) {
    document.querySelectorAll("img[data-plot]").forEach(function (image) {
      const version = versions[image.dataset.plot];
      if (version === undefined || version === image.dataset.version) return;
      image.dataset.version = version;
      image.src = image.src.split("?")[0] + "?v=" + encodeURIComponent(version);
    });
  }

  function apply(status) {
    updateRound(status.round);
    updateSteps(status.steps);
    updateLineage(status.lineage);
    status.runs.forEach(updateRun);
    updateLog(status.log);
    updateEvaluation(status.evaluation);
    updatePlots(status.plot_versions);
    return !FINAL.has(status.round.state);
  }

  const tail = document.getElementById("log-tail");
  tail.scrollTop = tail.scrollHeight;
  window.rankwiseJobs.pollStatus(statusUrl, pollMs, apply);  // job_poll.js
})();
