/**
 * The capability report of a conformance run: every case with its result — passed, failed (with
 * what failed), skipped because a feature is not declared or an option not given, or left out by
 * a filter or tier selection — as terminal lines, JSON, and a self-contained HTML page.
 * @module
 */
import type { Features } from "@omnibus/core";
import type { CaseResult } from "./runner.js";

/** A whole run, as `--json` writes it. */
export interface ConformanceReport {
  readonly adapter: string;
  readonly features: Features;
  readonly at: string;
  readonly ms: number;
  readonly totals: Readonly<Record<"passed" | "failed" | "timed-out" | "skipped" | "filtered", number>>;
  readonly cases: readonly CaseResult[];
}

const MARK: Record<CaseResult["status"], string> = {
  passed: "✓",
  failed: "✗",
  "timed-out": "✗",
  skipped: "–",
  filtered: "·",
};

/** One terminal line for a result. */
export function resultLine(r: CaseResult): string {
  const ms = r.status === "passed" || r.status === "failed" || r.status === "timed-out" ? ` ${r.ms} ms` : "";
  const detail =
    r.status === "skipped"
      ? `  skipped: ${r.reason}`
      : r.status === "filtered"
        ? `  not run: ${r.reason}`
        : r.status === "passed"
          ? ""
          : `\n      ${r.status === "timed-out" ? "TIMED OUT: " : ""}${r.message}`;
  return `${MARK[r.status]} ${r.id}${ms}${detail}`;
}

/** Build the report of a run. */
export function buildReport(
  adapter: string,
  features: Features,
  cases: readonly CaseResult[],
  ms: number,
): ConformanceReport {
  const totals = { passed: 0, failed: 0, "timed-out": 0, skipped: 0, filtered: 0 };
  for (const c of cases) totals[c.status]++;
  return { adapter, features, at: new Date().toISOString(), ms, totals, cases };
}

/** The summary line: "64 passed, 1 failed, 5 skipped (features not declared), 2 not run (filtered)". */
export function summaryLine(report: ConformanceReport): string {
  const t = report.totals;
  const parts = [`${t.passed} passed`, `${t.failed + t["timed-out"]} failed`];
  if (t.skipped) parts.push(`${t.skipped} skipped (not declared or not configured)`);
  if (t.filtered) parts.push(`${t.filtered} not run (filtered out)`);
  return `${report.adapter}: ${parts.join(", ")} in ${(report.ms / 1000).toFixed(1)} s`;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** A self-contained HTML page: the declared features and a matrix of cases by result. */
export function htmlReport(report: ConformanceReport): string {
  const features = Object.entries(report.features)
    .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(String(v))}</td></tr>`)
    .join("");
  const rows = report.cases
    .map(
      (c) =>
        `<tr class="${c.status}" data-case="${escapeHtml(c.id)}"><td>${escapeHtml(c.tier)}</td><td><code>${escapeHtml(c.id)}</code></td><td>${escapeHtml(
          c.title,
        )}</td><td class="status">${escapeHtml(c.status)}</td><td>${escapeHtml(c.message ?? c.reason ?? "")}</td><td>${
          c.status === "passed" || c.status === "failed" || c.status === "timed-out" ? c.ms : ""
        }</td></tr>`,
    )
    .join("\n");
  const t = report.totals;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Omnibus conformance: ${escapeHtml(report.adapter)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
tr.passed .status{background:#d9f2d9}tr.failed .status,tr.timed-out .status{background:#f8d0d0}
tr.skipped .status{background:#eee}tr.filtered .status{background:#f4f4f4;color:#888}code{font-size:13px}
</style></head><body>
<h1>Omnibus conformance: ${escapeHtml(report.adapter)}</h1>
<p id="summary">${t.passed} passed, ${t.failed + t["timed-out"]} failed, ${t.skipped} skipped, ${t.filtered} not run — ${escapeHtml(report.at)}, ${(report.ms / 1000).toFixed(1)} s</p>
<h2>Declared features</h2><table id="features">${features}</table>
<h2>Cases</h2>
<table id="cases"><thead><tr><th>tier</th><th>case</th><th>obligation</th><th>result</th><th>why</th><th>ms</th></tr></thead><tbody>
${rows}
</tbody></table></body></html>
`;
}
