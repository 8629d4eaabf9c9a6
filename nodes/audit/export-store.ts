import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import type { AuditStore } from '../../common/stores/audit-store.js';
import { MAX_PAGE_SIZE } from '../../common/stores/paging.js';
import type { JwkSet } from '../../trust-anchor/index.js';
import {
  type AuditExport,
  type AuditExportHeader,
  checkpointLine,
  entryLine,
  headerLine,
  parseAuditExport,
  receiptLine,
} from './export-format.js';

type ExportLine = { readonly type: 'header' | 'entry' | 'checkpoint' | 'receipt'; readonly line: string };

/** Who is exporting: the node and its public keys. */
export interface ExportInit {
  readonly nodeId: string;
  readonly keys: JwkSet;
  readonly now: Date;
}

/**
 * The NDJSON lines of a store's evidence: the header, the entries up to the head at the
 * start (a snapshot: the node may go on appending), the checkpoints within it, then the
 * receipts. Read page by page, so an export of any size streams.
 */
export async function* auditExportLines(store: AuditStore, init: ExportInit): AsyncGenerator<string> {
  for await (const { line } of exportLines(store, init)) yield line;
}

async function* exportLines(store: AuditStore, init: ExportInit): AsyncGenerator<ExportLine> {
  const head = await store.head();
  const header: AuditExportHeader = { nodeId: init.nodeId, exportedAt: init.now, keys: init.keys, head };
  yield { type: 'header', line: headerLine(header) };
  for (let from = 1; from <= head.sequence; ) {
    const page = await store.range(from, Math.min(MAX_PAGE_SIZE, head.sequence - from + 1));
    if (page.length === 0) break;
    for (const entry of page) yield { type: 'entry', line: entryLine(entry) };
    from += page.length;
  }
  let pageToken: string | undefined;
  do {
    const page = await store.listCheckpoints({ pageSize: MAX_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) });
    for (const c of page.items) if (c.sequence <= head.sequence) yield { type: 'checkpoint', line: checkpointLine(c) };
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
  do {
    const page = await store.listReceipts({ pageSize: MAX_PAGE_SIZE, ...(pageToken ? { pageToken } : {}) });
    for (const r of page.items) yield { type: 'receipt', line: receiptLine(r) };
    pageToken = page.nextPageToken;
  } while (pageToken !== undefined);
}

/** Writes {@link auditExportLines} to a file; returns how many lines of each kind. */
export async function writeAuditExport(
  store: AuditStore,
  init: ExportInit,
  path: string,
): Promise<{ entries: number; checkpoints: number; receipts: number }> {
  const out = createWriteStream(path, { mode: 0o600 });
  const counts = { header: 0, entry: 0, checkpoint: 0, receipt: 0 };
  try {
    for await (const { type, line } of exportLines(store, init)) {
      counts[type]++;
      if (!out.write(`${line}\n`)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await finished(out);
  }
  return { entries: counts.entry, checkpoints: counts.checkpoint, receipts: counts.receipt };
}

/** A store's evidence as an in-memory export, as if written and parsed back. */
export async function collectAuditExport(store: AuditStore, init: ExportInit): Promise<AuditExport> {
  const lines: string[] = [];
  for await (const line of auditExportLines(store, init)) lines.push(line);
  return parseAuditExport(lines.join('\n'));
}
