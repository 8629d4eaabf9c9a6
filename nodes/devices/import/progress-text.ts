import type { DeviceImportProgress } from './device-import.js';

/** Rate and ETA of this run (a resumed run does not count the lines it skipped). */
export function importRate(p: DeviceImportProgress): { linesPerSecond: number; etaSeconds: number | undefined } {
  const seconds = p.elapsedMs / 1000;
  const done = p.linesDone - p.startLine;
  const linesPerSecond = seconds > 0 ? done / seconds : 0;
  const left = Math.max(0, p.totalLines - p.linesDone);
  return { linesPerSecond, etaSeconds: linesPerSecond > 0 ? left / linesPerSecond : undefined };
}

/** `1:05:09`, `4:07`, `0:03`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const count = (n: number) => n.toLocaleString('en-US');

function parts(p: DeviceImportProgress): { percent: number; text: string } {
  const percent = p.totalLines === 0 ? 100 : Math.min(100, (100 * p.linesDone) / p.totalLines);
  const { linesPerSecond, etaSeconds } = importRate(p);
  const eta = etaSeconds === undefined ? '?' : formatDuration(etaSeconds);
  const text =
    `${percent.toFixed(1)}% ${count(p.linesDone)}/${count(p.totalLines)} lines · ${count(Math.round(linesPerSecond))} devices/s` +
    ` · ETA ${eta} · ${count(p.inserted)} new, ${count(p.unchanged)} unchanged, ${count(p.rejected)} rejected`;
  return { percent, text };
}

/** One line for a log: what a non-terminal stderr gets every few seconds. */
export function progressLine(p: DeviceImportProgress): string {
  return `import ${p.jobId}: ${parts(p).text}\n`;
}

/** A bar redrawn in place on a terminal (`\r`, then clear to the end of the line). */
export function progressBar(p: DeviceImportProgress, width = 24): string {
  const { percent, text } = parts(p);
  const filled = Math.round((percent / 100) * width);
  return `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}\u001b[K`;
}
