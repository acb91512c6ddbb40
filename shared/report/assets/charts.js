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
    series: [{}].concat(series.map((s) => ({
      label: s.label, stroke: s.color, width: s.width || 1.5, scale: s.scale || "y",
      points: { show: !!opts.points, size: opts.points || 5, fill: s.color, stroke: s.color },
      paths: opts.points ? () => null : undefined,
      spanGaps: false,
    }))),
    hooks: { ...(opts.hooks || {}) },
  };
  if (opts.onZoom) {
    o.hooks.setSelect = [(u) => {
      if (u.select.width < 3) return;
      const min = u.posToVal(u.select.left, "x");
      const max = u.posToVal(u.select.left + u.select.width, "x");
      u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
      opts.onZoom(min, max);
    }];
  }
  const u = new uPlot(o, [t].concat(series.map((s) => s.values)), el);
  const ro = new ResizeObserver(() => u.setSize({ width: width(el), height: opts.height || H }));
  ro.observe(el);
  u.dispose = () => { ro.disconnect(); u.destroy(); };
  return u;
}

// band draws a horizontal band (the baseline) behind a plot's series.
export function bandHook(get) {
  return [(u) => {
    const b = get();
    if (b.low == null || b.high == null) return;
    const y1 = u.valToPos(b.high, "y", true), y2 = u.valToPos(b.low, "y", true);
    u.ctx.save();
    u.ctx.fillStyle = BAND;
    u.ctx.fillRect(u.bbox.left, Math.min(y1, y2), u.bbox.width, Math.abs(y2 - y1));
    u.ctx.restore();
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
