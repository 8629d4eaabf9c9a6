import { type CheckRecorder, expectThat } from './checks.js';
import { runCli } from './processes.js';

/**
 * After the nodes stop: every city's audit chain verifies, and the first city's receipts
 * (as consumer) are confirmed entry for entry by the second city's log (as provider).
 */
export async function checkAudit(checks: CheckRecorder, work: string, cities: readonly string[]): Promise<void> {
  await checks.check('audit.chains-verify', async () => {
    const counts: string[] = [];
    for (const city of cities) {
      const report = JSON.parse(await runCli(['audit', 'verify', city, '--json'], work)) as { entries?: number };
      counts.push(`${city} ${report.entries ?? '?'}`);
    }
    return `hash chains, checkpoints and receipts verify: ${counts.join(', ')} entries`;
  });
  await checks.check('audit.both-sides-agree', async () => {
    const [consumer, provider] = cities;
    const report = JSON.parse(await runCli(['audit', 'verify', consumer!, '--against', provider!, '--json'], work)) as {
      matched: number;
      receipts: number;
      valid: boolean;
    };
    expectThat(report.valid && report.matched > 0, `cross-check: ${report.matched} of ${report.receipts} confirmed`);
    return `${report.matched} receipts ${consumer} holds from ${provider} are confirmed by ${provider}'s log`;
  });
}
