// the technician console: athlete form, steps, cue and countdown, controls, live trace,
// device health, EMG bars, trials table and log
"use strict";
(function () {
  const L = window.labkit, $ = (id) => document.getElementById(id);
  const trace = new L.Trace($("trace"), { height: 280 });
  let protocol = null, stepIdx = -1;
  if (L.token) ["athlete-link", "sessions-link"].forEach((id) => ($(id).href += "?token=" + L.token));

  function esc(s) { return String(s === null || s === undefined ? "" : s).replace(/[&<>"]/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]); }

  function buildForm(p) {
    $("protocol").textContent = p.name + " v" + p.version;
    $("subject-form").innerHTML = p.subject.map((f) =>
      `<label>${esc(f.prompt)}${f.required ? " *" : ""}<input name="${esc(f.name)}" id="field-${esc(f.name)}"
        ${f.type === "text" ? "" : 'inputmode="decimal"'}></label>`).join("");
    $("steps").innerHTML = p.steps.map((s) => `<li data-kind="${esc(s.kind)}">${esc(s.text)}</li>`).join("");
  }

  const KINDS = { instruction: ["instruction"], cue: ["weigh", "tare"], quiet: ["repeat", "trial", "per_side"],
    go: ["repeat", "trial", "per_side"], relax: ["repeat", "trial", "per_side"],
    verdict: ["repeat", "trial", "per_side"], rest: ["repeat", "rest", "per_side"] };
  function markStep(phase) {
    const kinds = KINDS[phase];
    const items = $("steps").children;
    if (kinds) {
      for (let i = Math.max(0, stepIdx); i < items.length; i++) {
        if (kinds.includes(items[i].dataset.kind)) { stepIdx = i; break; }
      }
    }
    for (let i = 0; i < items.length; i++) {
      items[i].className = phase === "done" || i < stepIdx ? "done" : i === stepIdx ? "current" : "";
    }
  }

  function onState(s) {
    if (s.record) {
      $("record-section").style.display = "";
      $("record-state").textContent = (s.record.recording ? "recording to " + s.record.file :
        "next file: " + s.record.next_file) + " · streams " + s.record.selected.join(", ");
      if (!s.run) showHealth(s.record.health);
    }
    const r = s.run;
    if (!r) return;
    $("status").textContent = r.status;
    $("file").textContent = r.file || "";
    const running = r.status === "running";
    $("form-section").style.display = running ? "none" : "";
    $("cue").textContent = r.paused ? "PAUSED · " + r.cue : r.cue;
    let cd = "";
    if (r.countdown !== null && r.countdown !== undefined) cd = String(r.countdown);
    else if (r.rest_left_s !== null && r.rest_left_s !== undefined) cd = Math.ceil(r.rest_left_s) + " s";
    $("countdown").textContent = cd;
    $("trial-line").textContent = r.trial ? `trial ${r.trial.id} · ${r.trial.label} · attempt ${r.trial.attempt}` : "";
    $("continue").disabled = !r.waiting;
    $("run-error").textContent = r.error || "";
    markStep(r.phase);
    showHealth(r.health);
    $("emg").innerHTML = Object.entries(s.emg || {}).map(([k, v]) =>
      `<div>${esc(k)} ${(1000 * v).toFixed(3)} mV</div><div class="bar" style="width:${Math.min(100, 2e5 * v)}%"></div>`).join("");
    $("trials").tBodies[0].innerHTML = r.trials.map((t) => `<tr id="trial-${t.id}">
      <td>${t.id}</td><td>${esc(t.label)}</td><td>${t.attempt}</td><td class="headline">${esc(t.text)}</td>
      <td>${esc(t.rfd_0_100ms)}</td><td class="verdict ${t.valid ? "valid" : "invalid"}">${t.valid ? "VALID" : "INVALID"}</td>
      <td>${esc(t.reason)}</td></tr>`).join("");
    $("log").textContent = r.messages.join("\n");
  }

  function showHealth(h) {
    $("health").tBodies[0].innerHTML = (h || []).map((d) => `<tr><td>${esc(d.stream)}</td><td>${d.rate_hz.toFixed(1)}</td>
      <td>${d.measured_hz === null ? "–" : d.measured_hz.toFixed(1)}</td><td>${d.samples}</td><td>${d.lost}</td>
      <td class="${d.stalled ? "invalid" : "valid"}">${d.stalled ? "stalled" : "ok"}</td></tr>`).join("");
  }

  function act(action) { L.api("/api/control", { action: action }).catch((e) => ($("run-error").textContent = e.message)); }
  ["continue", "redo", "skip", "pause", "resume", "abort"].forEach((a) => ($(a).onclick = () => act(a)));
  $("start").onclick = () => {
    const subject = {};
    (protocol ? protocol.subject : []).forEach((f) => (subject[f.name] = $("field-" + f.name).value.trim()));
    $("form-error").textContent = "";
    stepIdx = -1;
    L.api("/api/run", { subject: subject }).catch((e) => ($("form-error").textContent = e.message));
  };
  $("rec-start").onclick = () => L.api("/api/record/start", {}).catch((e) => ($("run-error").textContent = e.message));
  $("rec-stop").onclick = () => L.api("/api/record/stop", {}).catch((e) => ($("run-error").textContent = e.message));

  L.api("/api/status").then((s) => {
    if (s.protocol) { protocol = s.protocol; buildForm(protocol); } else $("form-section").style.display = "none";
    L.connect(onState, [trace]);
  });
})();
