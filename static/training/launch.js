// Launch form: show the settings of the chosen algorithm only; switching the
// project reloads the form for that project (its policies and prompts differ).
(function () {
  "use strict";
  const form = document.getElementById("launch-form");
  if (!form) return;

  function showChosenAlgorithm() {
    const chosen = form.querySelector("input[name=algorithm]:checked");
    form.querySelectorAll("fieldset[data-algorithm]").forEach(function (fieldset) {
      fieldset.hidden = !chosen || fieldset.dataset.algorithm !== chosen.value;
    });
  }

  form.querySelectorAll("input[name=algorithm]").forEach(function (radio) {
    radio.addEventListener("change", showChosenAlgorithm);
  });
  const project = form.querySelector("select[name=project]");
  if (project) {
    project.addEventListener("change", function () {
      window.location.search = "?project=" + encodeURIComponent(project.value);
    });
  }
  showChosenAlgorithm();
})();
