import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { type Clock, systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/index.js';
import { AGREEMENT_STATES, type Agreement, type AgreementState } from '../../common/stores/index.js';
import { AgreementBook } from '../../nodes/agreements/index.js';
import { AuditLog, keyStoreSigner } from '../../nodes/audit/index.js';
import { type CliIo, printJson } from '../io.js';
import { openNodeFolder } from '../node-folder.js';

const STATES = AGREEMENT_STATES;

/**
 * Opens the node's store and a second audit log on it (the node may be running: SQLite
 * WAL lets both write; a log whose head another writer moved has its next batch refused
 * and then continues from the stored head), runs `body` with the node's agreement book,
 * and closes the store once the entries are durable. The log is flushed, not closed:
 * closing signs a checkpoint at the head, and the running node, unaware of it, would
 * later try to sign a different one at the same sequence and be refused.
 */
async function withBook<T>(dir: string, clock: Clock, body: (book: AgreementBook) => Promise<T>): Promise<T> {
  const { identity, stores } = openNodeFolder(dir);
  try {
    const audit = await AuditLog.open({
      store: stores.audit,
      clock,
      signer: keyStoreSigner(stores.keys),
      nodeId: identity.spiffeId,
    });
    try {
      return await body(new AgreementBook({ store: stores.agreements, audit, clock, city: identity.city }));
    } finally {
      await audit.flush();
    }
  } finally {
    await stores.close();
  }
}

/** Who acted, as the audit log records it: the operator at the node's console. */
function cliActor(): string {
  return `cli:${userInfo().username}`;
}

function stateOf(value: string | undefined): AgreementState | undefined {
  if (value === undefined) return undefined;
  const state = value.toUpperCase() as AgreementState;
  if (!STATES.includes(state)) {
    throw new MeshError('MALFORMED_REQUEST', `--state must be one of ${STATES.join(', ')}, not ${value}`, {
      details: { field: 'state' },
    });
  }
  return state;
}

function positiveNumber(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) {
      throw new MeshError('MALFORMED_REQUEST', `${name} must be a positive number, not ${value}`, {
        details: { field: name },
      });
    }
    return n;
  };
}

const show = (a: Agreement) => ({ ...a, expiresAt: a.expiresAt?.toISOString() ?? null });

/**
 * `citymesh agreements ...`: the provider city's data office decides pending access
 * agreements on the node's store directly. `clock` is for tests.
 */
export function registerAgreementsCommands(program: Command, io: CliIo, clock: Clock = systemClock): void {
  const agreements = program
    .command('agreements')
    .description("decide and end access agreements to this city's datasets (the data office's console)");

  agreements
    .command('list')
    .description('list the agreements of this node (provided, and copies of those its apps requested)')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--state <state>', `only this state (${STATES.join(', ')})`)
    .option('--dataset <id>', 'only agreements about this dataset')
    .option('--consumer-city <city>', 'only agreements of consumers from this city')
    .action(async (opts: { dir: string; state?: string; dataset?: string; consumerCity?: string }) => {
      const state = stateOf(opts.state);
      const filter = {
        ...(state ? { state } : {}),
        ...(opts.dataset ? { datasetId: opts.dataset } : {}),
        ...(opts.consumerCity ? { consumerCity: opts.consumerCity } : {}),
      };
      const all = await withBook(resolve(opts.dir), clock, async (book) => {
        const items: Agreement[] = [];
        let pageToken: string | undefined;
        do {
          const page = await book.list(filter, { pageSize: 1000, ...(pageToken ? { pageToken } : {}) });
          items.push(...page.items);
          pageToken = page.nextPageToken;
        } while (pageToken !== undefined);
        return items;
      });
      printJson(io, { agreements: all.map(show) });
    });

  agreements
    .command('approve <id>')
    .description('agree to a pending request (REQUESTED → AGREED)')
    .requiredOption('--dir <dir>', 'the node folder')
    .option(
      '--expires-in <days>',
      'agree for this many days (never later than requested)',
      positiveNumber('expires-in'),
    )
    .option('--expected-version <n>', 'fail if the agreement changed since you read it', positiveNumber('version'))
    .action(async (id: string, opts: { dir: string; expiresIn?: number; expectedVersion?: number }) => {
      const agreement = await withBook(resolve(opts.dir), clock, (book) =>
        book.approve(id, cliActor(), {
          ...(opts.expiresIn ? { expiresInDays: opts.expiresIn } : {}),
          ...(opts.expectedVersion ? { expectedVersion: opts.expectedVersion } : {}),
        }),
      );
      printJson(io, { agreement: show(agreement) });
    });

  for (const [name, verb] of [
    ['reject', 'refuse a request still under negotiation (→ TERMINATED)'],
    ['terminate', 'end an agreement in force (→ TERMINATED); later exchanges under it are refused'],
  ] as const) {
    agreements
      .command(`${name} <id>`)
      .description(verb)
      .requiredOption('--dir <dir>', 'the node folder')
      .requiredOption('--reason <text>', 'why, for the consumer; recorded in the audit log')
      .option('--expected-version <n>', 'fail if the agreement changed since you read it', positiveNumber('version'))
      .action(async (id: string, opts: { dir: string; reason: string; expectedVersion?: number }) => {
        const options = {
          reason: opts.reason,
          ...(opts.expectedVersion ? { expectedVersion: opts.expectedVersion } : {}),
        };
        const agreement = await withBook(resolve(opts.dir), clock, (book) =>
          name === 'reject' ? book.reject(id, cliActor(), options) : book.terminate(id, cliActor(), options),
        );
        printJson(io, { agreement: show(agreement) });
      });
  }

  agreements
    .command('expire')
    .description('mark every open agreement past its end of validity EXPIRED now (reads do it lazily too)')
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (opts: { dir: string }) => {
      const expired = await withBook(resolve(opts.dir), clock, (book) => book.expireDue());
      printJson(io, { expired: expired.map(show) });
    });
}
