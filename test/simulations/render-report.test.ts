import { describe, expect, it } from 'vitest';
import { renderReportHtml } from '../../simulations/html/render-report.js';
import { histogramOf } from '../../simulations/latency.js';
import type { SimulationReport } from '../../simulations/report.js';

function report(overrides: Partial<SimulationReport> = {}): SimulationReport {
  return {
    cluster: 'jjj',
    cities: ['beijing', 'tianjin', 'shijiazhuang'],
    trust: {
      beijing: { tianjin: true, shijiazhuang: true },
      tianjin: { beijing: true, shijiazhuang: true },
      shijiazhuang: { beijing: false, tianjin: false },
    },
    interop: {
      beijing: { tianjin: { allowed: 7, denied: 6 } },
      tianjin: { beijing: { allowed: 6, denied: 6 } },
    },
    checks: [
      { name: 'trust.matrix', passed: false, detail: 'shijiazhuang verified none of the 2 others: signature <bad>' },
      { name: 'exchange.every-pair', passed: true, detail: '2 ordered pairs' },
    ],
    metrics: { 'exchange.fetch': { count: 2, p50Ms: 12, p95Ms: 30, p99Ms: 30, throughputPerSecond: 4 } },
    startedAt: '2025-01-06T00:00:00.000Z',
    durationMs: 61_000,
    passed: false,
    clusterName: '京津冀 Beijing-Tianjin-Hebei',
    cityInfo: [
      { id: 'beijing', name: '北京', region: '110000' },
      { id: 'tianjin', name: '天津', region: '120000' },
      { id: 'shijiazhuang', name: '石家庄', region: '130100' },
    ],
    scenarios: ['enrol', 'publish', 'exchange'],
    faults: ['wrong-anchor-key=shijiazhuang'],
    trustFailures: { shijiazhuang: { beijing: 'no key "x" & <script>', tianjin: 'no key' } },
    interopWrong: { tianjin: { beijing: 1 } },
    exchangeMode: 'full',
    latency: { 'exchange.fetch': histogramOf([12, 30]) },
    revoked: 'shijiazhuang',
    revocationReach: { beijing: 180, tianjin: 220 },
    rss: { afterExchange: { beijing: 150.5 }, end: { beijing: 140.2, tianjin: 138 } },
    phases: [{ name: 'enrol', ms: 12_000, checks: 5, failed: 1 }],
    nodes: {},
    ...overrides,
  };
}

const cellsOf = (html: string, chart: string) => {
  const svg = html.slice(html.indexOf(chart));
  return svg.slice(0, svg.indexOf('</svg>'));
};

describe('renderReportHtml', () => {
  it('is one self-contained page: no script, nothing fetched from elsewhere', () => {
    const html = renderReportHtml(report());
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).not.toMatch(/<script|<link|src=|href="http|@import|url\(/i);
  });

  it('says the run failed and lists every check with its detail', () => {
    const html = renderReportHtml(report());
    expect(html).toContain('FAILED</span>: 1 of 2 checks failed');
    expect(html).toContain('<td class="fail">FAIL</td><th scope="row">trust.matrix</th>');
    expect(html).toContain('<td class="pass">PASS</td><th scope="row">exchange.every-pair</th>');
  });

  it('draws a trust cell per ordered pair, refusals marked with a symbol and the reason in the tooltip', () => {
    const trust = cellsOf(renderReportHtml(report()), 'Trust: did the row city verify');
    expect(trust.match(/<g><title>/g)).toHaveLength(9);
    expect(trust).toContain('<title>beijing verified tianjin</title>');
    expect(trust).toContain(
      '<title>shijiazhuang did not verify beijing: no key &quot;x&quot; &amp; &lt;script&gt;</title>',
    );
    expect((trust.match(/>✗<\/text>/g) ?? []).length).toBe(2);
    expect((trust.match(/>✓<\/text>/g) ?? []).length).toBe(4);
  });

  it('draws interop cells with served/refused counts and flags calls that broke policy', () => {
    const interop = cellsOf(renderReportHtml(report()), 'Interop: calls served/refused');
    expect(interop).toContain('>7/6</text>');
    expect(interop).toContain('>6/6!</text>');
    expect(interop).toContain('tianjin → beijing: 6 served, 6 refused as policy says, 1 not as policy says');
  });

  it('flags a pair that served nothing, even when nothing went against policy', () => {
    const html = renderReportHtml(report({ interop: { beijing: { tianjin: { allowed: 0, denied: 2 } } } }));
    expect(cellsOf(html, 'Interop: calls served/refused')).toContain('>0/2!</text>');
  });

  it('gives every chart a title, a description and the same numbers as a table', () => {
    const html = renderReportHtml(report());
    const charts = html.match(/<svg role="img"/g)?.length ?? 0;
    expect(charts).toBe(5);
    expect(html.match(/<title id="chart-\d+-t">/g)).toHaveLength(charts);
    expect(html.match(/<desc id="chart-\d+-d">/g)).toHaveLength(charts);
    expect(html.match(/as a table<\/summary><table>/g)).toHaveLength(charts);
    expect(html).toContain('<th scope="row">beijing</th><td>180</td>');
    expect(html).toContain('<th scope="row">tianjin</th><td>138</td>');
  });

  it('escapes names and details that come from the run', () => {
    const html = renderReportHtml(
      report({ cities: ['<b>x</b>'], cityInfo: [{ id: '<b>x</b>', name: '"q"', region: '1' }], trust: {} }),
    );
    expect(html).not.toContain('<b>x</b>');
    expect(html).toContain('&lt;b&gt;x&lt;/b&gt; (&quot;q&quot;, 1)');
    expect(html).toContain('signature &lt;bad&gt;');
  });

  it('says when there was no revocation rather than drawing an empty chart', () => {
    const html = renderReportHtml(report({ revocationReach: {}, revoked: undefined }));
    expect(html).toContain('No revocation in this run.');
  });
});
