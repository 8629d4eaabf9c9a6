import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import type { RejectedLine } from './device-import.js';

/** Where `--rejects` lists every rejected line of a job, one JSON object per line. */
export interface RejectsFile {
  write(reject: RejectedLine): void;
  close(): void;
}

/**
 * Opens the rejects file of a job that resumes after line `keepUpTo` (0 for a fresh
 * run): entries of lines it already committed are kept, later ones (written by a run that
 * was killed before committing them) are dropped, so a resumed job lists each line once.
 * Entries of the batch that committed just before a kill may be missing: they are written
 * after their commit.
 */
export function openRejectsFile(path: string, keepUpTo: number): RejectsFile {
  let kept = '';
  if (keepUpTo > 0 && existsSync(path)) {
    kept = readFileSync(path, 'utf8')
      .split('\n')
      .filter((text) => text !== '' && (JSON.parse(text) as { line: number }).line <= keepUpTo)
      .map((text) => `${text}\n`)
      .join('');
  }
  writeFileSync(path, kept);
  const fd = openSync(path, 'a');
  return {
    write: (reject) => void writeSync(fd, `${JSON.stringify(reject)}\n`),
    close: () => {
      fsyncSync(fd);
      closeSync(fd);
    },
  };
}
