import type { LatencyHistogram } from '../latency.js';
import { esc, num } from './escape.js';

/**
 * Charts as inline SVG, each a `<figure>` with a title and description for screen
 * readers and the same numbers as a table under a disclosure: nothing is only a colour
 * and nothing needs a script.
 */

const FONT = 'font-family="system-ui, sans-serif"';

interface Svg {
  readonly width: number;
  readonly height: number;
  readonly body: string;
}

function figure(id: string, title: string, description: string, svg: Svg, table: string): string {
  return `<figure class="chart" id="${id}">
<figcaption>${esc(title)}</figcaption>
<svg role="img" aria-labelledby="${id}-t ${id}-d" viewBox="0 0 ${svg.width} ${svg.height}" width="${svg.width}" height="${svg.height}">
<title id="${id}-t">${esc(title)}</title><desc id="${id}-d">${esc(description)}</desc>
${svg.body}
</svg>
<details><summary>${esc(title)} as a table</summary>${table}</details>
</figure>`;
}

function table(head: readonly string[], rows: readonly (readonly string[])[]): string {
  const th = head.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows.map(
    (r) => `<tr>${r.map((c, i) => (i === 0 ? `<th scope="row">${c}</th>` : `<td>${c}</td>`)).join('')}</tr>`,
  );
  return `<table><thead><tr>${th}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

const bucketLabel = (h: LatencyHistogram, i: number) =>
  i < h.boundsMs.length ? `≤ ${num(h.boundsMs[i]!)}` : `> ${num(h.boundsMs.at(-1)!)}`;

/** `20k` rather than `20,000`: axis labels must fit under bars 35 px wide. */
const shortMs = (ms: number) => (ms >= 1000 ? `${ms / 1000}k` : String(ms));
const axisLabel = (h: LatencyHistogram, i: number) =>
  i < h.boundsMs.length ? shortMs(h.boundsMs[i]!) : `>${shortMs(h.boundsMs.at(-1)!)}`;

/** Calls per latency bucket (ms, 1-2-5 steps) of one operation. */
export function histogramChart(id: string, title: string, h: LatencyHistogram): string {
  const width = 560;
  const height = 200;
  const left = 40;
  const bottom = 40;
  const n = h.counts.length;
  const slot = (width - left - 10) / n;
  const top = Math.max(1, ...h.counts);
  const bars = h.counts.map((count, i) => {
    const barH = ((height - bottom - 20) * count) / top;
    const x = left + i * slot + 2;
    const y = height - bottom - barH;
    const label = `${bucketLabel(h, i)} ms: ${count} calls`;
    return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(slot - 4).toFixed(1)}" height="${barH.toFixed(1)}" fill="#3b6fb6"><title>${esc(label)}</title></rect>${
      count > 0
        ? `<text x="${(x + (slot - 4) / 2).toFixed(1)}" y="${(y - 3).toFixed(1)}" font-size="9" text-anchor="middle" ${FONT}>${count}</text>`
        : ''
    }<text x="${(x + (slot - 4) / 2).toFixed(1)}" y="${height - bottom + 12}" font-size="9" text-anchor="middle" ${FONT}>${esc(axisLabel(h, i))}</text>`;
  });
  const body = `<line x1="${left}" y1="${height - bottom}" x2="${width - 10}" y2="${height - bottom}" stroke="#555"/>
<text x="${width / 2}" y="${height - 8}" font-size="10" text-anchor="middle" ${FONT}>latency bucket, ms (upper bound)</text>
<text x="10" y="${(height - bottom) / 2}" font-size="10" transform="rotate(-90 10 ${(height - bottom) / 2})" text-anchor="middle" ${FONT}>calls</text>
${bars.join('\n')}`;
  const svg = { width, height, body };
  const description = `${h.count} calls, min ${h.minMs} ms, mean ${h.meanMs} ms, max ${h.maxMs} ms`;
  const rows = h.counts.map((c, i) => [esc(`${bucketLabel(h, i)} ms`), String(c)]);
  return figure(id, title, description, svg, table(['latency', 'calls'], rows));
}

/** One horizontal bar per label: e.g. revocation reach or memory per node. */
export function barChart(id: string, title: string, unit: string, entries: readonly [string, number][]): string {
  const row = 20;
  const left = 130;
  const width = 560;
  const height = 30 + row * entries.length;
  const top = Math.max(1, ...entries.map(([, v]) => v));
  const bars = entries.map(([label, value], i) => {
    const y = 10 + i * row;
    const w = ((width - left - 70) * value) / top;
    return `<text x="${left - 6}" y="${y + 13}" font-size="11" text-anchor="end" ${FONT}>${esc(label)}</text><rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${row - 6}" fill="#c77c1e"><title>${esc(`${label}: ${num(value)} ${unit}`)}</title></rect><text x="${(left + w + 4).toFixed(1)}" y="${y + 13}" font-size="10" ${FONT}>${esc(`${num(value)} ${unit}`)}</text>`;
  });
  const body = `<line x1="${left}" y1="6" x2="${left}" y2="${height - 16}" stroke="#555"/>
${bars.join('\n')}`;
  const svg = { width, height, body };
  const description = entries.length === 0 ? 'no data' : `${entries.length} bars, largest ${num(top)} ${unit}`;
  return figure(
    id,
    title,
    description,
    svg,
    table(
      ['', unit],
      entries.map(([l, v]) => [esc(l), num(v)]),
    ),
  );
}

/** One heatmap cell: its colour (with a symbol or number, never colour alone) and its tooltip. */
export interface HeatCell {
  readonly fill: string;
  readonly text: string;
  readonly title: string;
}

/** A city × city matrix: rows are the first city of each pair, columns the second. */
export function heatmap(
  id: string,
  title: string,
  cities: readonly string[],
  cell: (from: string, to: string) => HeatCell,
  legend: readonly { fill: string; text: string }[],
): string {
  const size = cities.length > 12 ? 22 : 34;
  const left = 120;
  const top = 110;
  const gridW = size * cities.length;
  // Room for the last column's slanted label and for the legend's text.
  const width = Math.max(left + gridW + 110, left + 330);
  const height = top + gridW + 30 + 18 * legend.length;
  const parts: string[] = [];
  cities.forEach((city, i) => {
    const x = left + i * size + size / 2;
    parts.push(
      `<text x="${left - 6}" y="${top + i * size + size / 2 + 4}" font-size="11" text-anchor="end" ${FONT}>${esc(city)}</text>`,
      `<text x="${x}" y="${top - 6}" font-size="11" transform="rotate(-55 ${x} ${top - 6})" ${FONT}>${esc(city)}</text>`,
    );
  });
  for (const [r, from] of cities.entries()) {
    for (const [c, to] of cities.entries()) {
      const v = cell(from, to);
      const x = left + c * size;
      const y = top + r * size;
      parts.push(
        `<g><title>${esc(v.title)}</title><rect x="${x}" y="${y}" width="${size - 1}" height="${size - 1}" fill="${esc(v.fill)}"/><text x="${x + size / 2}" y="${y + size / 2 + 3}" font-size="${size > 30 ? 11 : 8}" text-anchor="middle" ${FONT}>${esc(v.text)}</text></g>`,
      );
    }
  }
  legend.forEach((l, i) => {
    const y = top + gridW + 16 + i * 18;
    parts.push(
      `<rect x="${left}" y="${y}" width="14" height="14" fill="${esc(l.fill)}"/><text x="${left + 20}" y="${y + 11}" font-size="11" ${FONT}>${esc(l.text)}</text>`,
    );
  });
  const svg = { width, height, body: parts.join('\n') };
  const rows = cities.map((from) => [esc(from), ...cities.map((to) => esc(cell(from, to).title))]);
  const description = `rows: the city that calls or verifies; columns: the other city; ${legend.map((l) => l.text).join('; ')}`;
  return figure(id, title, description, svg, table(['from \\ to', ...cities], rows));
}
