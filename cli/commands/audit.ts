import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/index.js';
import type { Stores } from '../../common/stores/index.js';
import {
  type AuditExport,
  type AuditProblem,
  type AuditVerifyReport,
  type CrossCheckReport,
  collectAuditExport,
  crossCheckExports,
  type ExportInit,
  parseAuditExport,
  verifyAuditExport,
  writeAuditExport,
} from '../../nodes/audit/index.js';
import { type JwkSet, publishedJwk } from '../../trust-anchor/index.js';
import { type CliIo, printJson } from '../io.js';
import { openNodeFolder } from '../node-folder.js';

/** Opens a joined node's folder: its store and who it is. */
async function withNode<T>(dir: string, body: (stores: Stores, init: ExportInit) => Promise<T>): Promise<T> {
  const { identity, stores } = openNodeFolder(dir);
  try {
    const page = await stores.keys.list({ purpose: 'federation' }, { pageSize: 1000 });
    // Retired keys stay: older checkpoints and receipts were signed with them.
    const keys = page.items.filter((k) => k.status !== 'revoked').map(publishedJwk);
    return await body(stores, { nodeId: identity.spiffeId, keys: { keys }, now: systemClock.now() });
  } finally {
    await stores.close();
  }
}

/** An export file, or a node folder read as if exported now. */
async function loadEvidence(path: string): Promise<AuditExport> {
  const full = resolve(path);
  if (!existsSync(full)) {
    throw new MeshError('MALFORMED_REQUEST', `no audit export or node folder at ${path}`, {
      details: { field: 'path' },
    });
  }
  if (statSync(full).isDirectory()) return withNode(full, (stores, init) => collectAuditExport(stores.audit, init));
  return parseAuditExport(readFileSync(full, 'utf8'));
}

function loadTrustedKeys(file: string | undefined): Record<string, JwkSet> | undefined {
  if (file === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', `--keys ${file} is not a readable JSON file`, {
      details: { field: 'keys' },
      cause,
    });
  }
  const ok =
    typeof parsed === 'object' &&
    parsed !== null &&
    Object.values(parsed).every((set) => Array.isArray((set as JwkSet | null)?.keys));
  if (!ok) {
    throw new MeshError('MALFORMED_REQUEST', `--keys ${file} must map node SPIFFE ids to JWK Sets ({"keys": [...]})`, {
      details: { field: 'keys' },
    });
  }
  return parsed as Record<string, JwkSet>;
}

function describeReport(io: CliIo, title: string, r: AuditVerifyReport): void {
  const line = (label: string, text: string) => io.out(`  ${`${label}:`.padEnd(13)}${text}\n`);
  io.out(`${title} ${r.nodeId}\n`);
  line('keys', r.keySource === 'trusted' ? 'pinned by --keys' : "the export's own (not pinned: pass --keys to pin)");
  line('chain', `${r.entries} entries, linked and hashed correctly through ${r.verifiedThrough}`);
  line(
    'checkpoints',
    `${r.checkpoints.verified} of ${r.checkpoints.total} verified` +
      (r.checkpoints.latest === undefined
        ? `; no verified checkpoint covers the ${r.uncheckpointed} verified entries`
        : `, latest at ${r.checkpoints.latest}; ${r.uncheckpointed} verified entries after it`),
  );
  line(
    'receipts',
    `${r.receipts.verified} of ${r.receipts.total} verified` +
      (r.receipts.unchecked > 0 ? `, ${r.receipts.unchecked} unchecked (no keys for their provider)` : ''),
  );
  line(
    'result',
    r.valid
      ? 'OK'
      : `FAILED${r.firstBroken ? `: first broken entry ${r.firstBroken.sequence} (${r.firstBroken.message})` : ''}`,
  );
}

function describeProblems(io: CliIo, problems: readonly AuditProblem[]): void {
  if (problems.length === 0) return;
  io.out('problems:\n');
  for (const p of problems) io.out(`  - [${p.code}] ${p.message}\n`);
}

/** `citymesh audit`: export a node's evidence and verify it offline. */
export function registerAuditCommands(program: Command, io: CliIo): void {
  const audit = program
    .command('audit')
    .description("a node's tamper-evident audit log: export and offline verification");

  audit
    .command('export')
    .description("write a node's audit evidence (entries, checkpoints, receipts) as NDJSON")
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--out <file>', 'the export file to write')
    .action(async (opts: { dir: string; out: string }) => {
      const counts = await withNode(resolve(opts.dir), (stores, init) =>
        writeAuditExport(stores.audit, init, resolve(opts.out)),
      );
      printJson(io, { out: opts.out, ...counts });
    });

  audit
    .command('verify')
    .description('verify the hash chain, checkpoints and receipts; with --against, cross-check with a provider')
    .argument('<evidence>', 'a node folder or an audit export file')
    .option('--against <evidence>', "a provider's export (or node folder) to cross-check this consumer's receipts with")
    .option('--keys <file>', 'JSON mapping node SPIFFE ids to the JWK Sets you trust for them')
    .option('--json', 'print the report as JSON')
    .action(async (evidence: string, opts: { against?: string; keys?: string; json?: boolean }) => {
      const options = { now: systemClock.now(), trustedKeys: loadTrustedKeys(opts.keys) };
      const consumer = await loadEvidence(evidence);
      let problems: readonly AuditProblem[];
      if (opts.against === undefined) {
        const report = await verifyAuditExport(consumer, options);
        if (opts.json) printJson(io, report);
        else {
          describeReport(io, 'audit evidence of', report);
          describeProblems(io, report.problems);
        }
        problems = report.problems;
      } else {
        const report: CrossCheckReport = await crossCheckExports(consumer, await loadEvidence(opts.against), options);
        if (opts.json) printJson(io, report);
        else {
          describeReport(io, 'consumer', report.consumer);
          describeReport(io, 'provider', report.provider);
          io.out(
            `cross-check: ${report.matched} of ${report.receipts} receipts confirmed by the provider's log: ${report.valid ? 'OK' : 'FAILED'}\n`,
          );
          describeProblems(io, [...report.consumer.problems, ...report.provider.problems, ...report.problems]);
        }
        problems = [...report.consumer.problems, ...report.provider.problems, ...report.problems];
      }
      const first = problems[0];
      if (first !== undefined) {
        throw new MeshError(
          first.code,
          `audit verification failed (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${first.message}`,
          {
            details: { rule: first.rule },
          },
        );
      }
    });
}
