// uPlot wrappers: responsive width, a shared cursor, drag-to-zoom handed
// to the page (which re-fetches the range at full detail).

export const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"];
export const SUM = "#222222";
export const ENERGY = "#2e7d32";
export const PRICE = "#8e24aa";
export const COST = "#ef6c00";
export const BAND = "rgba(31,119,180,0.15)";
export const REGRESSION = "#d62728";

const H = 240;

function width(el) { return Math.max(280, Math.floor(el.clientWidth || 320)); }

// plot draws lines over a time axis. series: [{label, color, values, width,
// scale}]; opts: {unit, unit2, sync, onZoom, points, hooks, x: "time"|"num"}.
export function plot(el, t, series, opts = {}) {
  const axes = [
    { stroke: "#5b6475", grid: { stroke: "#eceff4" } },
    { stroke: "#5b6475", grid: { stroke: "#eceff4" }, label: opts.unit || "", size: 60 },
  ];
  const scales = { x: { time: opts.x !== "num" } };
  if (opts.unit2) {
    axes.push({ side: 1, scale: "y2", stroke: "#5b6475", grid: { show: false }, label: opts.unit2, size: 60 });
    scales.y2 = {};
  }
  const o = {
    width: width(el), height: opts.height || H,
    // Times in UTC, like the tables (and Slurm's generated profiles).
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Etc/UTC"),
    scales,
    axes,
    legend: { live: true },
    cursor: {
      sync: opts.sync ? { key: opts.sync } : undefined,
      drag: { x: !!opts.onZoom, y: false, setScale: false },
    },
    series: [opts.x === "num" ? { label: opts.xLabel || "x" } : {}].concat(series.map((s) => ({
      label: s.label, stroke: s.color, width: s.width || 1.5, scale: s.scale || "y",
      points: { show: !!opts.points, size: opts.points || 5, fill: s.color, stroke: s.color },
      paths: opts.points ? () => null : undefined,
      spanGaps: false,
    }))),
    hooks: { ...(opts.hooks || {}) },
  };
  // A selection made on this plot zooms; the copies that the shared
  // cursor draws on the other plots do not.
  let dragged = false;
  if (opts.onZoom) {
    o.hooks.setSelect = [(u) => {
      if (!dragged) return;
      dragged = false;
      if (u.select.width < 3) return;
      const min = u.posToVal(u.select.left, "x");
      const max = u.posToVal(u.select.left + u.select.width, "x");
      u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
      opts.onZoom(min, max);
    }];
  }
  const u = new uPlot(o, [t].concat(series.map((s) => s.values)), el);
  u.over.addEventListener("mousedown", () => { dragged = true; });
  const ro = new ResizeObserver(() => u.setSize({ width: width(el), height: opts.height || H }));
  ro.observe(el);
  u.dispose = () => { ro.disconnect(); u.destroy(); };
  return u;
}

// bandHook draws a band (the baseline) behind a plot's series, between
// low[i] and high[i] at x[i]; points without a baseline break it.
export function bandHook(x, low, high) {
  return [(u) => {
    const c = u.ctx;
    c.save();
    c.fillStyle = BAND;
    let run = [];
    const flush = () => {
      if (run.length) {
        const w = run.length === 1 ? 4 * devicePixelRatio : 0;
        c.beginPath();
        run.forEach((i, k) => { const px = u.valToPos(x[i], "x", true) - (k === 0 ? w : 0); c[k ? "lineTo" : "moveTo"](px, u.valToPos(high[i], "y", true)); });
        if (w) c.lineTo(u.valToPos(x[run[0]], "x", true) + w, u.valToPos(high[run[0]], "y", true));
        for (let k = run.length - 1; k >= 0; k--) c.lineTo(u.valToPos(x[run[k]], "x", true) + (k === 0 && w ? w : 0), u.valToPos(low[run[k]], "y", true));
        if (w) c.lineTo(u.valToPos(x[run[0]], "x", true) - w, u.valToPos(low[run[0]], "y", true));
        c.closePath();
        c.fill();
      }
      run = [];
    };
    for (let i = 0; i < x.length; i++) {
      if (low[i] == null || high[i] == null) flush(); else run.push(i);
    }
    flush();
    c.restore();
  }];
}

// histogram draws the distribution of values as bars on a 2D canvas.
export function histogram(canvas, values, marks = {}) {
  const draw = () => {
    const dpr = devicePixelRatio || 1;
    const w = canvas.clientWidth || 320, h = canvas.clientHeight || 220;
    canvas.width = w * dpr; canvas.height = h * dpr;
    const c = canvas.getContext("2d");
    c.scale(dpr, dpr);
    c.clearRect(0, 0, w, h);
    const xs = values.filter((v) => v != null);
    if (!xs.length) return;
    const min = Math.min(...xs), max = Math.max(...xs);
    const bins = Math.max(3, Math.min(20, Math.ceil(Math.sqrt(xs.length)) + 1));
    const span = max - min || 1;
    const counts = new Array(bins).fill(0);
    xs.forEach((v) => counts[Math.min(bins - 1, Math.floor(((v - min) / span) * bins))]++);
    const top = Math.max(...counts), pad = 28, bw = (w - pad * 2) / bins;
    c.fillStyle = PALETTE[0];
    counts.forEach((n, i) => {
      const bh = ((h - pad * 2) * n) / top;
      c.fillRect(pad + i * bw + 1, h - pad - bh, bw - 2, bh);
    });
    c.fillStyle = "#5b6475"; c.font = "12px system-ui";
    c.fillText(marks.fmt ? marks.fmt(min) : min.toFixed(0), pad, h - 8);
    const hi = marks.fmt ? marks.fmt(max) : max.toFixed(0);
    c.fillText(hi, w - pad - c.measureText(hi).width, h - 8);
    c.fillText(`${top}`, 4, pad);
  };
  draw();
  const ro = new ResizeObserver(draw);
  ro.observe(canvas);
  return { dispose: () => ro.disconnect() };
}
