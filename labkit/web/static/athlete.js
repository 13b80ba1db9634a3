// the athlete screen: countdown, GO, a large live trace with the best and a target line, and
// the big number of each finished trial (the test catalogue's headline metric)
"use strict";
(function () {
  const L = window.labkit, $ = (id) => document.getElementById(id);
  const trace = new L.Trace($("a-trace"), { height: Math.round(window.innerHeight * 0.36), sumOnly: true,
    lines: true, sumColor: "#4fc3f7" });
  const pct = parseFloat(new URLSearchParams(location.search).get("target") || "NaN");

  function onState(s) {
    const r = s.run;
    if (!r) return;
    const go = r.phase === "go";
    let cd = "";
    if (go) cd = "GO!";
    else if (r.countdown !== null && r.countdown !== undefined) cd = String(r.countdown);
    else if (r.rest_left_s !== null && r.rest_left_s !== undefined) cd = String(Math.ceil(r.rest_left_s));
    $("a-countdown").textContent = cd;
    $("a-countdown").className = go ? "go" : "";
    $("a-cue").textContent = go ? "" : r.phase === "rest" ? (r.cue || "Rest") : r.cue;
    const done = r.trials;
    const last = done.length ? done[done.length - 1] : null;
    if (last && last.value !== null) {
      $("a-big").textContent = last.value.toFixed(last.unit === "N" || last.unit === "N·m" ? 1 : 2);
      $("a-big").dataset.trial = last.id;
      $("a-big").className = last.valid ? "valid" : "invalid";
      $("a-label").textContent = `${last.headline_label} (${last.unit}) · trial ${last.id}${last.valid ? "" : " · not valid"}`;
    }
    const valid = done.filter((t) => t.valid && t.value !== null);
    const best = valid.length ? Math.max(...valid.map((t) => t.value)) : null;
    $("a-best").textContent = best === null ? "" : `best ${best.toFixed(1)} ${valid[0].unit}`;
    // the lines are drawn in the trace's units: only for a headline in newtons of the summed force
    const inForce = valid.length && valid[0].headline === "peak_force_n";
    const target = isNaN(pct) ? s.target_pct : pct;
    trace.extra.best = inForce ? best : null;
    trace.extra.target = inForce ? best * target / 100 : null;
  }
  L.connect(onState, [trace]);
})();
