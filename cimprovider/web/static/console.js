// The console's own script: follow the server's event stream and put the
// rows and job lists it sends in place. Everything else is htmx.
(function () {
  "use strict";
  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html.trim();
    return template.content.firstElementChild;
  }
  function filtered() {
    var search = document.getElementById("search"), state = document.getElementById("state");
    return (search && search.value) || (state && state.value);
  }
  // A VM's page: while the VM is held every change is refused, so its
  // buttons are disabled and the note says why; freed when the hold ends.
  function showHold(reason) {
    var note = document.getElementById("held-note");
    if (!note) return;
    note.textContent = reason ? "Held, so every change is refused: " + reason : "";
    note.hidden = !reason;
    document.querySelectorAll("button[data-refused-while-held]").forEach(function (button) {
      button.disabled = !!reason;
      if (reason) button.setAttribute("aria-describedby", "held-note");
      else button.removeAttribute("aria-describedby");
    });
  }
  function follow(container) {
    var source = new EventSource(container.getAttribute("data-live"));
    source.addEventListener("vm", function (event) {
      var row = fragment(event.data);
      if (!row) return;
      var existing = document.getElementById(row.id);
      if (existing) {
        existing.replaceWith(row);
      } else if (!container.hasAttribute("data-single") && !filtered()) {
        var body = document.getElementById("vm-rows");
        var empty = body && body.querySelector("tr.empty");
        if (empty) empty.remove();
        if (body) body.appendChild(row);
      }
      if (container.hasAttribute("data-single")) showHold(row.getAttribute("data-held") || "");
      var area = document.getElementById("console-area");
      if (area && row.dataset.state) area.setAttribute("data-state-text", row.dataset.state);
      document.dispatchEvent(new CustomEvent("vm-state", { detail: { id: row.id, state: row.dataset.state } }));
    });
    source.addEventListener("gone", function (event) {
      var existing = document.getElementById("vm-" + event.data);
      if (existing) existing.remove();
    });
    source.addEventListener("metrics", function (event) {
      var charts = fragment(event.data);
      var existing = charts && document.getElementById(charts.id);
      if (existing) existing.replaceWith(charts);
    });
    source.addEventListener("jobs", function (event) {
      var list = fragment(event.data);
      var existing = list && document.getElementById(list.id);
      if (existing) existing.replaceWith(list);
    });
  }
  // A button that may lose data asks first. htmx reads hx-confirm from the
  // element that issues the request, which for a form is the form, never
  // the button pressed; so the button names its question in data-confirm
  // and the form's request waits for the answer here.
  document.addEventListener("htmx:confirm", function (event) {
    var trigger = event.detail.triggeringEvent;
    var button = trigger && trigger.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(follow);
  });
})();
