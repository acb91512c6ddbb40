import * as api from "./report?asset=api.js";
import { h, page, card, table, badge, statusBadge, say, fail, save } from "./report?asset=dom.js";
import { jobDetail, series as parseSeries, sumSeries, cumulative, fmt, regressionText } from "./report?asset=model.js";
import { plot, PALETTE, SUM, ENERGY, PRICE, COST } from "./report?asset=charts.js";

// points asks for about two samples per pixel of the widest plot; the
// server keeps each bucket's extremes, so peaks survive.
export function points() {
  const w = document.getElementById("main").clientWidth || 800;
  return Math.max(200, Math.min(2000, Math.round(w * 1.5)));
}

export function seriesPath(id, fields, range) {
  return `/results/jobs/${encodeURIComponent(id)}/series` + api.qs({
    fields, points: points(),
    from: range ? new Date(range[0] * 1000).toISOString() : "",
    to: range ? new Date(range[1] * 1000).toISOString() : "",
  });
}

export async function jobPage(id) {
  const t0 = performance.now();
  const [detail, raw] = await Promise.all([
    api.getJSON(`/results/jobs/${encodeURIComponent(id)}`),
    api.getJSON(seriesPath(id, "power,energy,cpu,price")),
  ]);
  const j = jobDetail(detail);
  let s = parseSeries(raw);
  const plots = [];
  let range = null;

  const figs = {
    power: h("figure", { class: "plot", id: "plot-power" }, h("figcaption", {}, "Power per node and sum")),
    energy: h("figure", { class: "plot", id: "plot-energy" }, h("figcaption", {}, "Cumulative energy")),
    cpu: h("figure", { class: "plot", id: "plot-cpu" }, h("figcaption", {}, "CPU utilisation")),
    price: h("figure", { class: "plot", id: "plot-price" }, h("figcaption", {}, "Price and cumulative cost")),
  };
  const zoomLabel = h("span", { class: "muted", id: "zoom-range" }, "Whole job");
  const zoomBy = (f) => {
    const [a, b] = range || [s.t[0], s.t[s.t.length - 1]];
    const mid = (a + b) / 2, half = ((b - a) / 2) * f;
    setRange(f >= 1 && range && half * 2 >= fullSpan() ? null : [mid - half, mid + half]);
  };
  const fullSpan = () => (full.t.length ? full.t[full.t.length - 1] - full.t[0] : 0);
  const full = s;

  const exportBtn = (format) => h("button", { type: "button", id: "export-" + format, onclick: async () => {
    try {
      say(`Preparing ${format.toUpperCase()}…`);
      await save(await api.request(`/results/jobs/${encodeURIComponent(id)}/export?format=${format}`), `job_${id}.${format}`);
      say("");
    } catch (e) { fail(e); }
  } }, "Export " + format.toUpperCase());

  const reg = regressionText(j.regression);
  page("Job " + j.id,
    h("p", { class: "muted" }, [j.benchmark ? h("a", { href: "#/benchmark/" + encodeURIComponent(j.benchmark) }, j.benchmark) : "no benchmark", j.label ? " · " + j.label : "", " · ", fmt.date(j.start), " – ", fmt.date(j.end), j.mode ? " · " + j.mode + " mode" : ""]),
    h("div", { class: "cards" },
      card("Energy", fmt.energy(j.energy)), card("Wall time", fmt.time(j.wall)),
      card("Average power", fmt.power(j.avgPower)), card("Peak power", fmt.power(j.peakPower)),
      card("EDP", fmt.edp(j.edp)), card("Cost", fmt.cost(j.cost)), card("CO2", fmt.co2(j.co2)),
      card("Nodes / steps", `${j.nodes ?? "–"} / ${j.steps ?? "–"}`)),
    (j.flags.length || reg) ? h("p", {}, reg ? badge("regression " + reg, "bad") : "", j.flags.map((f) => badge(f, "warn"))) : "",
    j.warnings.length ? h("section", { "aria-labelledby": "w-h" }, h("h2", { id: "w-h" }, "Quality warnings"), h("ul", { class: "warnings" }, j.warnings.map((w) => h("li", {}, w)))) : "",
    h("div", { class: "actions" }, exportBtn("csv"), exportBtn("parquet"), h("a", { class: "button", href: "#/compare?jobs=" + encodeURIComponent(j.id) }, "Compare with…")),
    h("h2", {}, "Over time"),
    h("div", { class: "actions", role: "group", "aria-label": "Zoom" },
      h("button", { type: "button", id: "zoom-in", onclick: () => zoomBy(0.5) }, "Zoom in"),
      h("button", { type: "button", id: "zoom-out", onclick: () => zoomBy(2) }, "Zoom out"),
      h("button", { type: "button", id: "zoom-reset", onclick: () => setRange(null) }, "Whole job"),
      zoomLabel, h("span", { class: "muted" }, "Drag across a plot to zoom into that range.")),
    h("div", { class: "plots" }, figs.power, figs.energy, figs.cpu, figs.price),
    h("h2", {}, "Per node"),
    table(totalsCols("Node"), j.nodeRows, { label: "Per node" }),
    h("h2", {}, "Per step"),
    table(totalsCols("Step"), j.stepRows, { label: "Per step" }),
    h("h2", {}, "Files"),
    table([{ label: "File", cell: (f) => f.key }, { label: "Status", cell: (f) => statusBadge(f.status) }, { label: "Note", cell: (f) => f.error }], j.fileRows, { label: "Files" }),
  );

  const onZoom = (a, b) => setRange([a, b]);
  function datasets(s) {
    const nodes = s.nodes.filter((n) => s.power[n]);
    const psum = sumSeries(nodes.map((n) => s.power[n]), s.t.length);
    const esum = Object.keys(s.energy).length ? sumSeries(Object.values(s.energy), s.t.length) : cumulative(s.t, psum);
    return {
      power: nodes.map((n, i) => ({ label: n, color: PALETTE[i % PALETTE.length], values: s.power[n] }))
        .concat(nodes.length > 1 ? [{ label: "sum", color: SUM, width: 2, values: psum }] : []),
      energy: [{ label: "energy (kJ)", color: ENERGY, width: 2, values: esum.map((v) => (v == null ? null : v / 1000)) }],
      cpu: s.nodes.filter((n) => s.cpu[n]).map((n, i) => ({ label: n, color: PALETTE[i % PALETTE.length], values: s.cpu[n] })),
      price: s.price && s.price.some((v) => v != null) ? [{ label: "price", color: PRICE, values: s.price }, { label: "cost", color: COST, width: 2, scale: "y2", values: s.cost || cumulativeCost(s.t, psum, s.price) }] : [],
    };
  }
  const units = { power: ["W"], energy: ["kJ"], cpu: ["%"], price: ["€/kWh", "€"] };
  function draw() {
    plots.splice(0).forEach((p) => p.dispose());
    const d = datasets(s);
    for (const [k, sers] of Object.entries(d)) {
      const fig = figs[k];
      fig.querySelectorAll(".uplot, p").forEach((x) => x.remove());
      if (!sers.length || !s.t.length) { fig.append(h("p", { class: "muted" }, k === "price" ? "Not priced." : "No data.")); continue; }
      plots.push(Object.assign(plot(fig, s.t, sers, { unit: units[k][0], unit2: units[k][1], sync: "job", onZoom }), { key: k }));
    }
  }
  async function setRange(r) {
    range = r;
    zoomLabel.textContent = r ? `${fmt.date(r[0])} – ${fmt.date(r[1])}` : "Whole job";
    try {
      say("Loading range…");
      s = r ? parseSeries(await api.getJSON(seriesPath(id, "power,energy,cpu,price", r))) : full;
      draw();
      say(r ? `Zoomed: ${s.points} points at full detail for this range.` : "");
    } catch (e) { fail(e); }
  }
  draw();
  // Time to interactive, read by the browser test (make bench-report).
  document.body.dataset.ready = String(Math.round(performance.now() - t0));
  return () => plots.forEach((p) => p.dispose());
}

function cumulativeCost(t, powerW, priceKWh) {
  const out = new Array(t.length).fill(null);
  let acc = 0;
  for (let i = 0; i < t.length; i++) {
    if (i > 0 && powerW[i] != null && priceKWh[i] != null) acc += (powerW[i] * (t[i] - t[i - 1]) / 3.6e6) * priceKWh[i];
    out[i] = acc;
  }
  return out;
}

function totalsCols(first) {
  return [
    { label: first, cell: (r) => r.name },
    { label: "Energy", num: true, cell: (r) => fmt.energy(r.energy) },
    { label: "Time", num: true, cell: (r) => fmt.time(r.wall) },
    { label: "Avg power", num: true, cell: (r) => fmt.power(r.avgPower) },
    { label: "Peak power", num: true, cell: (r) => fmt.power(r.peakPower) },
    { label: "Cost", num: true, cell: (r) => fmt.cost(r.cost) },
    { label: "CO2", num: true, cell: (r) => fmt.co2(r.co2) },
  ];
}
