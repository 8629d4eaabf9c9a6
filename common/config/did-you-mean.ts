/**
 * Optimal-string-alignment distance: Levenshtein plus adjacent transposition, so the
 * common typo `prot` for `port` costs 1, not 2.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      const row = d[i] as number[];
      const prev = d[i - 1] as number[];
      let best = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, ((d[i - 2] as number[])[j - 2] as number) + 1);
      }
      row[j] = best;
    }
  }
  return (d[rows - 1] as number[])[cols - 1] as number;
}

/** `data_dir`, `data-dir`, `DataDir` and `dataDir` are all the same key to a human. */
function normalise(key: string): string {
  return key.replace(/[-_]/g, '').toLowerCase();
}

/**
 * The known key an unknown key most likely meant, or undefined when none is close:
 * same key up to case and `-`/`_`, else the nearest within a third of its length
 * (at least 1 edit).
 */
export function didYouMean(unknown: string, known: readonly string[]): string | undefined {
  const exact = known.find((candidate) => normalise(candidate) === normalise(unknown));
  if (exact !== undefined) return exact;
  let best: string | undefined;
  let bestDistance = Math.max(1, Math.floor(unknown.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(unknown, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
