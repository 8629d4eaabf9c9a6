import { expectThat } from '../checks.js';
import { readNodeStatus } from '../node-status.js';
import { mapPool } from '../pool.js';
import { runCliSession } from '../processes.js';
import type { SimulationRun } from '../run-state.js';

interface VerifyReport {
  valid?: boolean;
  entries?: number;
  matched?: number;
  receipts?: number;
  problems?: { rule?: string; message?: string }[];
}

const parse = (out: string): VerifyReport => {
  try {
    return JSON.parse(out) as VerifyReport;
  } catch {
    return {};
  }
};

/** What each running node says about itself at the end (metadata version, gossip), for the report. */
export async function summarizeNodes(run: SimulationRun): Promise<void> {
  const cities = run.cities.filter((c) => run.pid(c) !== undefined);
  const statuses = await mapPool(cities, 8, (city) => readNodeStatus(run.app(city)));
  for (const [i, city] of cities.entries()) {
    const s = statuses[i]!;
    const pid = run.pid(city);
    if (s.status === 'rejected') {
      run.nodeSummaries[city] = { ...(pid === undefined ? {} : { pid }) };
      continue;
    }
    const { anchorReachable: _, offlineBudgetSeconds: __, metadataAcceptedAtMs: ___, ...rest } = s.value;
    run.nodeSummaries[city] = { ...(pid === undefined ? {} : { pid }), ...rest };
  }
}

/**
 * With every node stopped: each city's audit chain, checkpoints and receipts verify, and
 * the first city's receipts (as consumer) are confirmed entry for entry by the second
 * city's log (as provider). A provider killed mid-exchange may have logged an answer
 * that never reached the consumer; that one disagreement is allowed, and said.
 */
export async function auditPhase(run: SimulationRun): Promise<void> {
  await summarizeNodes(run);
  await run.stopNodes();
  const cities = run.cities.filter((c) => run.started.has(c));
  const progress = run.progress.phase('audit', cities.length, 'chains');
  const results = await runCliSession(
    cities.map((city) => ['audit', 'verify', city, '--json']),
    run.work,
    { keepGoing: true },
  );
  progress.tick(cities.length);
  await run.checks.check('audit.chains-verify', () => {
    const reports = results.map((r) => ({ ...r, report: parse(r.out) }));
    const broken = reports.filter((r) => r.code !== 0 || r.report.valid !== true);
    expectThat(
      broken.length === 0,
      `does not verify: ${broken.map((b) => `${b.args[2]}: ${b.err.trim()}`).join('; ')}`,
    );
    const counts = reports.map((r) => `${r.args[2]} ${r.report.entries ?? '?'}`);
    return `hash chains, checkpoints and receipts verify: ${counts.join(', ')} entries`;
  });
  const [consumer, provider] = cities;
  if (consumer !== undefined && provider !== undefined) await crossCheck(run, consumer, provider);
  progress.done();
}

async function crossCheck(run: SimulationRun, consumer: string, provider: string): Promise<void> {
  await run.checks.check('audit.both-sides-agree', async () => {
    const [r] = await runCliSession([['audit', 'verify', consumer, '--against', provider, '--json']], run.work, {
      keepGoing: true,
    });
    const report = parse(r!.out);
    const allowed = run.crashed.has(provider) ? ['consumer-entry-missing'] : [];
    const problems = (report.problems ?? []).filter((p) => !allowed.includes(p.rule ?? ''));
    const unanswered = (report.problems ?? []).length - problems.length;
    expectThat(
      problems.length === 0 && (report.matched ?? 0) > 0 && report.matched === report.receipts,
      `cross-check: ${report.matched ?? 0} of ${report.receipts ?? 0} confirmed; ${problems[0]?.message ?? r!.err.trim()}`,
    );
    const crash =
      unanswered > 0
        ? `; ${unanswered} answers ${provider} logged never reached ${consumer} (killed mid-exchange)`
        : '';
    return `${report.matched} receipts ${consumer} holds from ${provider} are confirmed by ${provider}'s log${crash}`;
  });
}
