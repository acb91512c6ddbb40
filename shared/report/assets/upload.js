import * as api from "./report?asset=api.js";
import { h, page, statusBadge } from "./report?asset=dom.js";

// The client's flow (presign, PUT, analysis) for people without it. The
// PUT goes through the gateway's same-origin storage path, so the page's
// CSP keeps connect-src 'self'.
export function uploadPage() {
  const bench = h("input", { id: "u-bench", placeholder: "e.g. hpl" });
  const input = h("input", { id: "u-files", type: "file", multiple: true, accept: ".h5", class: "visually-hidden" });
  const list = h("tbody");
  const zone = h("div", { class: "drop", id: "drop" },
    h("p", {}, "Drop .h5 profiles here, or"),
    h("label", { for: "u-files", class: "button", tabindex: "0", role: "button", onkeydown: (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); input.click(); } } }, "Choose files…"),
    input);
  for (const ev of ["dragenter", "dragover"]) zone.addEventListener(ev, (e) => { e.preventDefault(); zone.classList.add("over"); });
  for (const ev of ["dragleave", "drop"]) zone.addEventListener(ev, () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => { e.preventDefault(); start([...e.dataTransfer.files]); });
  input.addEventListener("change", () => { start([...input.files]); input.value = ""; });

  let stopped = false;
  page("Upload profiles",
    h("p", { class: "muted" }, "Slurm HDF5 profiles (.h5). Each file is analysed after upload; its job appears under Jobs."),
    h("div", { class: "filters" }, h("label", { for: "u-bench" }, "Benchmark name (optional)", bench)),
    zone,
    h("div", { class: "scroll", tabindex: "0", role: "region", "aria-label": "Uploads" },
      h("table", { id: "uploads" }, h("thead", {}, h("tr", {}, h("th", {}, "File"), h("th", {}, "Status"), h("th", {}, "Job"))), list)));

  function start(files) {
    for (const f of files) {
      const st = h("td", {}, statusBadge("waiting"));
      const jobCell = h("td");
      const row = h("tr", { "data-file": f.name }, h("td", {}, f.name), st, jobCell);
      list.append(row);
      if (!/\.h5$/i.test(f.name)) { st.replaceChildren(statusBadge("rejected"), " only .h5 files"); continue; }
      one(f, st, jobCell).catch((e) => st.replaceChildren(statusBadge("failed"), " " + e.message));
    }
  }

  async function one(f, st, jobCell) {
    const set = (s, note) => { st.replaceChildren(statusBadge(s), note ? " " + note : ""); st.parentElement.dataset.status = s; };
    set("presigning");
    const p = await api.getJSON("/storage/presign/upload" + api.qs({ object_name: f.name, benchmark_name: bench.value.trim() }), { method: "POST" });
    const u = new URL(p.url);
    set("uploading", "0%");
    await put(api.base + "/storage/objects" + u.pathname + u.search, f, p.headers || {}, (pct) => set("uploading", pct + "%"));
    set("queued");
    // Then the analysis: the job's file list carries each file's status.
    const id = jobIdFromName(f.name);
    for (let i = 0; !stopped && i < 600; i++) {
      const found = await findFile(p.key, id).catch(() => null);
      if (found) {
        jobCell.replaceChildren(h("a", { href: "#/job/" + encodeURIComponent(found.job) }, found.job));
        set(found.status || "queued", found.error);
        if (/^(done|analy[sz]ed|ok|failed|error|skipped)$/i.test(found.status)) return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  return () => { stopped = true; };
}

function put(url, file, headers, progress) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) x.setRequestHeader(k, v);
    x.setRequestHeader("Content-Type", "application/octet-stream");
    x.upload.onprogress = (e) => { if (e.lengthComputable) progress(Math.round((100 * e.loaded) / e.total)); };
    x.onload = () => (x.status < 400 ? resolve() : reject(new Error(`upload failed (HTTP ${x.status})`)));
    x.onerror = () => reject(new Error("upload failed (network)"));
    x.send(file);
  });
}

// jobIdFromName reads a Slurm job id from the client's file names:
// <prefix>_<jobid>_<step>_<node>.h5, job_<id>.h5, [<prefix>_]<id>_job_merged.h5.
export function jobIdFromName(name) {
  const n = name.replace(/\.h5$/i, "");
  let m = n.match(/(?:^|_)(\d+)_job_merged(?:_.*)?$/) || n.match(/^job_(\d+)$/);
  if (m) return m[1];
  const parts = n.split("_");
  for (let i = parts.length - 2; i >= 1; i--) {
    if (/^(\d+|batch|extern|interactive)$/.test(parts[i]) && /^\d+$/.test(parts[i - 1])) return parts[i - 1];
  }
  return "";
}

async function findFile(key, id) {
  if (!id) return null;
  try {
    const d = await api.getJSON(`/results/jobs/${encodeURIComponent(id)}`);
    const f = (d.file_list || []).find((x) => x.key === key);
    return f ? { job: String(d.job), status: f.status || "", error: f.reason || "" } : null;
  } catch (e) {
    if (e.status === 404) return null; // not analysed yet
    throw e;
  }
}
