import type { DeviceImportOptions, DeviceImportReport } from './device-import.js';
import { progressBar, progressLine } from './progress-text.js';
import { openRejectsFile, type RejectsFile } from './rejects-file.js';

const PLAIN_EVERY_MS = 5_000;
const BAR_EVERY_MS = 200;

export interface ImportConsoleInit {
  /** Where progress and rejected lines go (stderr). */
  readonly err: (text: string) => void;
  /** A bar redrawn in place (a terminal, or `--progress`), else a plain line every few seconds. */
  readonly bar: boolean;
  /** The manifest as the operator named it, to print `file:line:`. */
  readonly file: string;
  /** `--rejects`: every rejected line as NDJSON. */
  readonly rejectsPath?: string;
}

/**
 * What an operator sees of an import: resume notices, progress, the rejects file, the
 * rejected lines and the summary. The callbacks go into {@link importDevices}; `close`
 * must run whatever the outcome, so the rejects file is flushed.
 */
export function importConsole(init: ImportConsoleInit) {
  let rejects: RejectsFile | undefined;
  let shownAt = performance.now();
  const callbacks: Pick<DeviceImportOptions, 'onStart' | 'onReject' | 'onProgress'> = {
    onStart: (start) => {
      if (init.rejectsPath !== undefined) rejects = openRejectsFile(init.rejectsPath, start.resumedFromLine);
      if (start.resumedFromLine > 0) init.err(`resuming job ${start.jobId} after line ${start.resumedFromLine}\n`);
      if (start.previousRun !== undefined) init.err(`job ${start.jobId} had completed; running it again\n`);
    },
    onReject: (reject) => rejects?.write(reject),
    onProgress: (p) => {
      const now = performance.now();
      const last = p.linesDone === p.totalLines;
      if (!last && now - shownAt < (init.bar ? BAR_EVERY_MS : PLAIN_EVERY_MS)) return;
      shownAt = now;
      if (init.bar) init.err(`${progressBar(p)}${last ? '\n' : ''}`);
      else if (!last) init.err(progressLine(p));
    },
  };
  return {
    callbacks,
    close: () => rejects?.close(),
    /** Lists the rejected lines this run kept; returns the summary to print as JSON. */
    finish(report: DeviceImportReport) {
      for (const r of report.rejects) init.err(`${init.file}:${r.line}: ${r.message} [${r.code}]\n`);
      const unlisted = report.invalid + report.conflicts - report.rejects.length;
      if (unlisted > 0) {
        const where =
          init.rejectsPath === undefined ? 'list them all with --rejects <file>' : `all in ${init.rejectsPath}`;
        init.err(`... and ${unlisted} more rejected line(s) (${where})\n`);
      }
      const { rejects: _listed, elapsedMs, ...counts } = report;
      const seconds = elapsedMs / 1000;
      const devicesPerSecond = seconds > 0 ? Math.round((report.linesDone - report.startLine) / seconds) : 0;
      return { ...counts, elapsedSeconds: Number(seconds.toFixed(3)), devicesPerSecond };
    },
  };
}
