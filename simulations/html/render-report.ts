import type { OperationMetrics, SimulationReport } from '../report.js';
import { barChart, type HeatCell, heatmap, histogramChart } from './charts.js';
import { esc, num } from './escape.js';

const GOOD = '#8fd19e';
const BAD = '#f08a8a';
const NONE = '#e4e4e4';

const STYLE = `body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem;color:#1d1d1d}
h1{font-size:1.6rem}h2{margin-top:2.2rem;border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:.5rem 0}
th,td{border:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}td.num{text-align:right}
.pass{color:#176b2c;font-weight:600}.fail{color:#a11;font-weight:600}figure.chart{margin:1rem 0}
figcaption{font-weight:600;margin-bottom:.3rem}svg{max-width:100%;height:auto}details{margin:.3rem 0}
.charts{display:flex;flex-wrap:wrap;gap:1rem}`;

function trustCell(report: SimulationReport, from: string, to: string): HeatCell {
  if (from === to) return { fill: NONE, text: '—', title: `${from} (itself)` };
  const ok = report.trust[from]?.[to];
  if (ok === undefined) return { fill: NONE, text: '', title: `${from} → ${to}: not checked` };
  const why = report.trustFailures[from]?.[to];
  return ok
    ? { fill: GOOD, text: '✓', title: `${from} verified ${to}` }
    : { fill: BAD, text: '✗', title: `${from} did not verify ${to}${why ? `: ${why}` : ''}` };
}

function interopCell(report: SimulationReport, from: string, to: string): HeatCell {
  if (from === to) return { fill: NONE, text: '—', title: `${from} (itself)` };
  const cell = report.interop[from]?.[to];
  const wrong = report.interopWrong[from]?.[to] ?? 0;
  if (cell === undefined) return { fill: NONE, text: '', title: `${from} → ${to}: no calls` };
  const title = `${from} → ${to}: ${cell.allowed} served, ${cell.denied} refused as policy says, ${wrong} not as policy says`;
  // A pair that served nothing did not interoperate, whatever else it got right.
  const flag = wrong > 0 || cell.allowed === 0;
  return { fill: flag ? BAD : GOOD, text: `${cell.allowed}/${cell.denied}${flag ? '!' : ''}`, title };
}

function checksTable(report: SimulationReport): string {
  const rows = report.checks.map(
    (c) =>
      `<tr><td class="${c.passed ? 'pass' : 'fail'}">${c.passed ? 'PASS' : 'FAIL'}</td><th scope="row">${esc(c.name)}</th><td>${esc(c.detail)}</td></tr>`,
  );
  return `<table><thead><tr><th scope="col">result</th><th scope="col">check</th><th scope="col">detail</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function metricsTable(report: SimulationReport): string {
  const ops = Object.entries(report.metrics).filter((e): e is [string, OperationMetrics] => typeof e[1] === 'object');
  const scalars = Object.entries(report.metrics).filter((e): e is [string, number] => typeof e[1] === 'number');
  const cell = (v: number) => `<td class="num">${num(v)}</td>`;
  const opRows = ops.map(
    ([name, m]) =>
      `<tr><th scope="row">${esc(name)}</th>${cell(m.count)}${cell(m.p50Ms)}${cell(m.p95Ms)}${cell(m.p99Ms)}${cell(m.throughputPerSecond)}</tr>`,
  );
  const scalarRows = scalars.map(([name, v]) => `<tr><th scope="row">${esc(name)}</th>${cell(v)}</tr>`);
  return `<table><thead><tr><th scope="col">operation</th><th scope="col">count</th><th scope="col">p50 ms</th><th scope="col">p95 ms</th><th scope="col">p99 ms</th><th scope="col">per s</th></tr></thead><tbody>${opRows.join('')}</tbody></table>
<table><tbody>${scalarRows.join('')}</tbody></table>`;
}

function phasesTable(report: SimulationReport): string {
  const rows = report.phases.map(
    (p) =>
      `<tr><th scope="row">${esc(p.name)}</th><td class="num">${num(p.ms / 1000)}</td><td class="num">${p.checks}</td><td class="num ${p.failed ? 'fail' : ''}">${p.failed}</td></tr>`,
  );
  return `<table><thead><tr><th scope="col">scenario</th><th scope="col">wall s</th><th scope="col">checks</th><th scope="col">failed</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/**
 * The simulation report as one self-contained HTML page (inline CSS and SVG, no script,
 * nothing fetched): verdict, checks, latency histograms, revocation reach and memory per
 * node, the trust and interop matrices as heatmaps, each chart with a table beside it.
 */
export function renderReportHtml(report: SimulationReport): string {
  let n = 0;
  const id = () => `chart-${++n}`;
  const failed = report.checks.filter((c) => !c.passed).length;
  const verdict = report.passed
    ? `<span class="pass">PASSED</span>: all ${report.checks.length} checks`
    : `<span class="fail">FAILED</span>: ${failed} of ${report.checks.length} checks failed`;
  const cities = report.cityInfo.map((c) => `${esc(c.id)} (${esc(c.name)}, ${esc(c.region)})`).join(', ');
  const histograms = Object.entries(report.latency).map(([op, h]) => histogramChart(id(), `${op} latency`, h));
  const reach = Object.entries(report.revocationReach);
  const rss = Object.entries(report.rss.end).length > 0 ? report.rss.end : report.rss.afterExchange;
  const trustLegend = [
    { fill: GOOD, text: '✓ verified the other city’s chain' },
    { fill: BAD, text: '✗ did not verify (hover or see the table for why)' },
    { fill: NONE, text: '— itself, or not checked' },
  ];
  const interopLegend = [
    { fill: GOOD, text: 'served/refused: every call as policy says' },
    { fill: BAD, text: '! some calls not as policy says, or none served' },
    { fill: NONE, text: '— itself, or no calls' },
  ];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>citymesh simulation: ${esc(report.cluster)} ${report.passed ? 'passed' : 'FAILED'}</title>
<style>${STYLE}</style></head>
<body>
<h1>citymesh simulation of ${esc(report.clusterName)} (${esc(report.cluster)})</h1>
<p>${verdict}, in ${num(report.durationMs / 1000)} s from ${esc(report.startedAt)}.</p>
<p>${report.cities.length} cities: ${cities}.</p>
<p>Scenarios: ${esc(report.scenarios.join(', '))}${report.faults.length ? `. Faults (drills): ${esc(report.faults.join(', '))}` : ''}${report.exchangeMode ? `. Exchange matrix: ${esc(report.exchangeMode)}` : ''}.</p>
<h2>Checks</h2>${checksTable(report)}
<h2>Scenarios</h2>${phasesTable(report)}
<h2>Trust matrix</h2>${heatmap(id(), 'Trust: did the row city verify the column city?', report.cities, (f, t) => trustCell(report, f, t), trustLegend)}
<h2>Interop matrix</h2>${heatmap(id(), 'Interop: calls served/refused as policy says, row city calling column city', report.cities, (f, t) => interopCell(report, f, t), interopLegend)}
<h2>Latency</h2><div class="charts">${histograms.join('\n') || '<p>No calls measured.</p>'}</div>
<h2>Revocation reach</h2>${reach.length ? barChart(id(), `Revocation of ${report.revoked ?? ''}: time until each node held it`, 'ms', reach) : '<p>No revocation in this run.</p>'}
<h2>Memory per node</h2>${Object.keys(rss).length ? barChart(id(), 'Resident memory (VmRSS) per node process', 'MB', Object.entries(rss)) : '<p>No node memory measured.</p>'}
<h2>Metrics</h2>${metricsTable(report)}
</body></html>
`;
}
