import * as api from "./report?asset=api.js";
import { h, page, card, table, badge, statusBadge, say, fail, save } from "./report?asset=dom.js";
import { jobDetail, series as parseSeries, sumLines, cumulative, fmt, regressionText } from "./report?asset=model.js";
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
      from: range ? range[0].toFixed(3) : "",
    to: range ? range[1].toFixed(3) : "",
  });
}

export async function jobPage(id) {
  const t0 = performance.now();
  const detail = await api.getJSON(`/results/jobs/${encodeURIComponent(id)}`);
  const j = jobDetail(detail);
  // Only compat-mode tables carry a price per row.
  const fields = j.mode === "compat" && j.cost != null ? "power,cpu,price" : "power,cpu";
  const raw = await api.getJSON(seriesPath(id, fields));
  let s = parseSeries(raw);
  const plots = [];
  let range = null;

  const figs = {
    power: h("figure", { class: "plot", id: "plot-power" }, h("figcaption", {}, "Power per node and sum")),
    energy: h("figure", { class: "plot", id: "plot-energy" }, h("figcaption", {}, "Cumulative energy (from the start of the range shown)")),
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
  } }, "Export " + (format === "csv" ? "CSV" : "Parquet"));

  const reg = regressionText(j.regression);
  page("Job " + j.id,
    h("p", { class: "muted" }, [j.benchmark ? h("a", { href: "#/benchmark/" + encodeURIComponent(j.benchmark) }, j.benchmark) : "no benchmark", j.label ? " · " + j.label : "", " · ", fmt.date(j.start), " – ", fmt.date(j.end), j.mode ? " · " + j.mode + " mode" : "", " · ", statusBadge(j.status)]),
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
    table([{ label: "File", cell: (f) => f.key }, { label: "Status", cell: (f) => statusBadge(f.status) }, { label: "Rows", num: true, cell: (f) => (f.rows == null ? "–" : String(f.rows)) }, { label: "Note", cell: (f) => f.error }], j.fileRows, { label: "Files" }),
  );

  // The plots share their cursor, so a selection on one reaches them all:
  // one request per range.
  const onZoom = (a, b) => {
    if (range && range[0] === a && range[1] === b) return;
    setRange([a, b]);
  };
  function datasets(s) {
    const steps = new Set(s.lines.map((l) => l.step));
    const name = (l) => (steps.size > 1 ? `${l.node} · ${l.step}` : l.node);
    const power = s.lines.filter((l) => l.power);
    // The sum counts the steps the job's total counts (a batch step
    // measures the same nodes as the steps inside it).
    const counted = power.filter((l) => !j.inTotal.size || j.inTotal.has(l.step));
    const psum = sumLines(counted.map((l) => l.power), s.t.length);
    const esum = cumulative(s.t, psum);
    const priceLine = s.lines.find((l) => l.price && l.price.some((v) => v != null));
    let price = [];
    if (priceLine) {
      const perKWh = priceLine.price.map((v) => (v == null ? null : v / 1000)); // EUR/MWh -> EUR/kWh
      price = [{ label: "price (€/kWh)", color: PRICE, values: perKWh }, { label: "cost (€)", color: COST, width: 2, scale: "y2", values: cumulativeCost(s.t, psum, perKWh) }];
    } else if (j.cost != null && j.energy) {
      // Priced per job only: the job's average price, and the cost that
      // accrues with the energy at that price.
      const avg = (j.cost / j.energy) * 3.6e6;
      price = [{ label: "average price (€/kWh)", color: PRICE, values: s.t.map(() => avg) }, { label: "cost (€)", color: COST, width: 2, scale: "y2", values: esum.map((e) => (e == null ? null : (e / 3.6e6) * avg)) }];
    }
    return {
      power: power.map((l, i) => ({ label: name(l), color: PALETTE[i % PALETTE.length], values: l.power }))
        .concat(power.length > 1 ? [{ label: "sum", color: SUM, width: 2, values: psum }] : []),
      energy: [{ label: "energy (kJ)", color: ENERGY, width: 2, values: esum.map((v) => (v == null ? null : v / 1000)) }],
      cpu: s.lines.filter((l) => l.cpu && l.cpu.some((v) => v != null)).map((l, i) => ({ label: name(l), color: PALETTE[i % PALETTE.length], values: l.cpu })),
      price,
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
      s = r ? parseSeries(await api.getJSON(seriesPath(id, fields, r))) : full;
      draw();
      say(r ? `Zoomed: ${s.points} points for ${s.rows} rows in this range.` : "");
    } catch (e) { fail(e); }
  }
  draw();
  // Time to interactive, read by the browser test (make bench-report).
  document.body.dataset.ready = String(Math.round(performance.now() - t0));
  document.body.dataset.rows = String(s.rows);
  document.body.dataset.points = String(s.points);
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
