/* Overview page of the benchmark dashboard (tools/dashboard_overview.py inlines this file).
 *
 * Everything is already rendered in the page; this script only adds the base-commit chooser of the
 * scalability grid (one pre-rendered block of change heatmaps per base commit) and never loads
 * anything: the page works from file:// with the network off.
 */
(function () {
  "use strict";

  function showBase(sha) {
    var blocks = document.querySelectorAll(".base-block");
    for (var i = 0; i < blocks.length; i++) {
      blocks[i].hidden = blocks[i].getAttribute("data-base") !== sha;
    }
  }

  function buildBaseChooser(data) {
    var slot = document.getElementById("base-control");
    if (!slot || !data.bases || data.bases.length === 0) {
      return;
    }
    var label = document.createElement("label");
    label.setAttribute("for", "base-select");
    label.textContent = "Base commit: ";
    var select = document.createElement("select");
    select.id = "base-select";
    data.bases.forEach(function (base) {
      var option = document.createElement("option");
      option.value = base.sha;
      option.textContent = base.label;
      if (base.sha === data.defaultBase) {
        option.selected = true;
      }
      select.appendChild(option);
    });
    select.addEventListener("change", function () { showBase(select.value); });
    slot.textContent = "";
    slot.appendChild(label);
    slot.appendChild(select);
    showBase(data.defaultBase);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var node = document.getElementById("overview-data");
    var data = node ? JSON.parse(node.textContent) : {};
    buildBaseChooser(data);
    document.body.setAttribute("data-js", "ready");
  });
})();
