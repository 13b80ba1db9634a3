// labkit live screens: one WebSocket of frames (state + force trace), a uPlot trace redrawn
// at most once per animation frame, and measurements the benchmark reads (window.labkitStats).
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const token = params.get("token");
  const KEEP_S = 5.0;

  const stats = { frames: 0, draws: 0, latencies_ms: [], draw_times: [] };
  window.labkitStats = stats;

  function api(path, body) {
    const opts = { method: body === undefined ? "GET" : "POST", headers: {} };
    if (token) opts.headers["Authorization"] = "Bearer " + token;
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    return fetch(path, opts).then(async (r) => {
      const data = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(data.error || ("HTTP " + r.status));
      return data;
    });
  }

  // the trace: session-clock times and one column per plate + the sum
  function Trace(el, opts) {
    this.t = []; this.cols = {}; this.labels = []; this.plot = null; this.el = el;
    this.opts = opts || {}; this.dirty = false; this.lastT = null; this.offset = 0;
    this.extra = {};  // horizontal lines: {name: value}
  }
  Trace.prototype.push = function (f) {
    const labels = Object.keys(f.plates);
    if (this.plot === null || labels.join() !== this.labels.join()) this.build(labels);
    for (let i = 0; i < f.t.length; i++) {
      this.t.push(f.t[i]);
      labels.forEach((l) => this.cols[l].push(f.plates[l][i]));
      this.cols.sum.push(f.sum[i]);
    }
    const cut = f.t[f.t.length - 1] - KEEP_S;
    let k = 0;
    while (k < this.t.length && this.t[k] < cut) k++;
    if (k > 0) {
      this.t.splice(0, k);
      Object.keys(this.cols).forEach((c) => this.cols[c].splice(0, k));
    }
    this.lastT = f.t_last; this.dirty = true;
  };
  Trace.prototype.build = function (labels) {
    this.labels = labels; this.cols = {}; this.t = [];
    labels.forEach((l) => (this.cols[l] = []));
    this.cols.sum = [];
    const colors = ["#4c9be8", "#e8a33c", "#8bc34a", "#c678dd"];
    const series = [{}];
    if (!this.opts.sumOnly) labels.forEach((l, i) => series.push({ label: l, stroke: colors[i % 4], width: 1.5 }));
    series.push({ label: "sum Fz", stroke: this.opts.sumColor || "#ffffff", width: this.opts.sumOnly ? 4 : 2 });
    ["best", "target"].forEach((n) => series.push({ label: n, stroke: n === "best" ? "#ffd54f" : "#66bb6a",
      width: 2, dash: [10, 6], show: !!this.opts.lines }));
    if (this.plot) this.plot.destroy();
    this.el.innerHTML = "";
    const rect = this.el.getBoundingClientRect();
    this.plot = new uPlot({
      width: Math.max(300, rect.width), height: this.opts.height || 260, series: series,
      scales: { x: { time: false } }, legend: { show: !this.opts.sumOnly },
      axes: [{ stroke: "#aaa", grid: { stroke: "#333" } }, { stroke: "#aaa", grid: { stroke: "#333" },
        size: 70, font: this.opts.sumOnly ? "20px sans-serif" : "12px sans-serif" }],
    }, [[]], this.el);
  };
  // drawn on every animation frame against the session clock's "now", so the trace scrolls
  // smoothly whatever the size of the recorder's chunks (they arrive about 20 times a second)
  Trace.prototype.draw = function (offset) {
    if (this.plot === null || this.t.length === 0) return false;
    const now = Date.now() / 1000 - offset;
    const x = this.t.map((v) => v - now);
    const data = [x];
    if (!this.opts.sumOnly) this.labels.forEach((l) => data.push(this.cols[l]));
    data.push(this.cols.sum);
    ["best", "target"].forEach((n) => {
      const v = this.extra[n];
      data.push(x.map(() => (v === undefined || v === null ? null : v)));
    });
    this.plot.batch(() => {
      this.plot.setData(data, false);
      this.plot.setScale("x", { min: -KEEP_S, max: 0 });
    });
    return true;
  };

  function connect(onState, traces) {
    window.labkitTraces = traces;
    const proto = location.protocol === "https:" ? "wss://" : "ws://";
    const url = proto + location.host + "/ws" + (token ? "?token=" + encodeURIComponent(token) : "");
    const ws = new WebSocket(url);
    let offset = 0;
    ws.onmessage = (ev) => {
      const f = JSON.parse(ev.data);
      stats.frames++;
      if (f.type === "state") { offset = f.clock_offset_s; onState(f); return; }
      if (f.type === "trace") { traces.forEach((tr) => tr.push(f)); traces.offset = offset; }
    };
    ws.onclose = () => setTimeout(() => connect(onState, traces), 1000);
    function frame(now) {
      const fresh = traces.some((tr) => tr.dirty);
      let drawn = false;
      traces.forEach((tr) => { drawn = tr.draw(offset) || drawn; tr.dirty = false; });
      if (drawn) {
        stats.draws++;
        stats.draw_times.push(now);
        // sample-to-screen: the newest sample's time stamp to the first draw that shows it
        const last = traces[0].lastT;
        if (fresh && last !== null) stats.latencies_ms.push(Date.now() - 1000 * (last + offset));
        if (stats.draw_times.length > 5000) stats.draw_times.splice(0, 1000);
        if (stats.latencies_ms.length > 5000) stats.latencies_ms.splice(0, 1000);
      }
      requestAnimationFrame(frame);
    }
    requestAnimationFrame(frame);
    return ws;
  }

  function fmt(v, unit) {
    if (v === null || v === undefined) return "–";
    const a = Math.abs(v);
    const d = a >= 100 ? 1 : a >= 10 ? 2 : 3;
    return v.toFixed(d) + (unit ? " " + unit : "");
  }

  window.labkit = { api: api, Trace: Trace, connect: connect, fmt: fmt, token: token };
})();
