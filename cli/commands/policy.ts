import { resolve } from 'node:path';
import type { Command } from 'commander';
import { systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/mesh-error.js';
import { levelOf, parseRegionCode, type RegionLevel } from '../../common/ids/index.js';
import { diffVersions, explainQuestion, whoCanUse } from '../../nodes/policy/auditor.js';
import {
  buildSnapshot,
  POLICY_ACTIONS,
  type PolicyAction,
  SUBJECT_KINDS,
  type SubjectAttributes,
  whatCan,
} from '../../nodes/policy/engine/index.js';
import {
  activatePolicySet,
  NODE_POLICY_DIR,
  NodePolicy,
  readSetFolder,
  writeSetFolder,
} from '../../nodes/policy/index.js';
import { type CliIo, printJson } from '../io.js';
import { openNodeFolder } from '../node-folder.js';

type SubjectOptions = { city: string; industry: string; region: string; level?: string; kind: string; role: string[] };

function subjectOf(o: SubjectOptions): SubjectAttributes {
  const region = parseRegionCode(o.region, 'region');
  if (!(SUBJECT_KINDS as readonly string[]).includes(o.kind)) {
    throw new MeshError('MALFORMED_REQUEST', `--kind must be one of ${SUBJECT_KINDS.join(', ')}`, {
      details: { field: 'kind' },
    });
  }
  return {
    kind: o.kind as SubjectAttributes['kind'],
    id: `${o.kind}:cli`,
    city: o.city,
    industry: o.industry,
    level: (o.level ?? levelOf(region)) as RegionLevel,
    region,
    roles: o.role,
  };
}

function actionOf(value: string): PolicyAction {
  if (!(POLICY_ACTIONS as readonly string[]).includes(value)) {
    throw new MeshError('MALFORMED_REQUEST', `action must be one of ${POLICY_ACTIONS.join(', ')}`, {
      details: { field: 'action' },
    });
  }
  return value as PolicyAction;
}

/** Runs `work` with the node folder's stores and its policy in force, then closes them. */
async function withPolicy<T>(
  dir: string,
  work: (ctx: { policy: NodePolicy; stores: ReturnType<typeof openNodeFolder>['stores'] }) => Promise<T>,
): Promise<T> {
  const { stores } = openNodeFolder(dir);
  try {
    const policy = await NodePolicy.open(stores.policies, dir, systemClock);
    return await work({ policy, stores });
  } finally {
    await stores.close();
  }
}

function subjectFlags(command: Command): Command {
  return command
    .requiredOption('--city <city>', "the subject's home city")
    .requiredOption('--industry <industry>', "the subject's industry")
    .requiredOption('--region <code>', 'the region the subject acts for (GB/T 2260)')
    .option('--level <level>', 'administrative level (default: from the region code)')
    .option('--kind <kind>', `subject kind: ${SUBJECT_KINDS.join(', ')}`, 'person')
    .option('--role <role...>', 'roles', []);
}

/** `citymesh policy ...`: the city's access policy: load and export sets, versions, and the auditor's questions. */
export function registerPolicyCommands(program: Command, io: CliIo): void {
  const policy = program
    .command('policy')
    .description("the city's access policy set: versions, changes, and who can do what");

  policy
    .command('check')
    .description('validate a policy set folder (rules, model, samples) without activating it')
    .argument('<set>', 'the set folder')
    .action(async (set: string) => {
      const snapshot = await buildSnapshot(readSetFolder(resolve(set)));
      io.out(`policy set ${set} is valid: ${snapshot.rules.length} rules, version ${snapshot.version}\n`);
    });

  policy
    .command('load')
    .description(`validate a set and make it the version in force (default: the node's ${NODE_POLICY_DIR}/ folder)`)
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--set <folder>', 'the set folder to load')
    .option('--comment <text>', 'why, for the version history')
    .option('--by <subject>', 'who is making the change', process.env['USER'] ?? 'operator')
    .action(async (opts: { dir: string; set?: string; comment?: string; by: string }) => {
      const dir = resolve(opts.dir);
      const { stores } = openNodeFolder(dir);
      try {
        const done = await activatePolicySet(stores.policies, resolve(opts.set ?? `${dir}/${NODE_POLICY_DIR}`), {
          subject: opts.by,
          now: systemClock.now(),
          ...(opts.comment === undefined ? {} : { comment: opts.comment }),
        });
        io.out(`policy version ${done.change.version} is in force (change ${done.change.sequence})\n`);
        for (const sentence of done.sentences) io.out(`  ${sentence}\n`);
      } finally {
        await stores.close();
      }
    });

  policy
    .command('export')
    .description("write a version's files (default: the one in force) into a folder, to edit and load again")
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--to <folder>', `where (default: the node's ${NODE_POLICY_DIR}/ folder)`)
    .option('--version <version>', 'which version')
    .action(async (opts: { dir: string; to?: string; version?: string }) => {
      const dir = resolve(opts.dir);
      await withPolicy(dir, async ({ policy, stores }) => {
        const version = await stores.policies.getVersion(opts.version ?? policy.version);
        if (version === undefined) {
          throw new MeshError('POLICY_VERSION_NOT_FOUND', `no policy version ${opts.version}`, {
            details: { field: 'version' },
          });
        }
        const to = resolve(opts.to ?? `${dir}/${NODE_POLICY_DIR}`);
        writeSetFolder(to, version);
        io.out(`wrote policy version ${version.version} to ${to}\n`);
      });
    });

  policy
    .command('versions')
    .description('list the versions this node knows, newest first')
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--page-size <n>', 'versions per page', '50')
    .option('--page-token <token>', 'next page')
    .action(async (opts: { dir: string; pageSize: string; pageToken?: string }) => {
      await withPolicy(resolve(opts.dir), async ({ stores }) => {
        printJson(
          io,
          await stores.policies.listVersions({
            pageSize: Number(opts.pageSize),
            ...(opts.pageToken ? { pageToken: opts.pageToken } : {}),
          }),
        );
      });
    });

  policy
    .command('changes')
    .description('the activations since a time, oldest first, with what each changed')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--since <time>', 'ISO 8601 time, e.g. 2026-11-01T00:00:00Z')
    .action(async (opts: { dir: string; since: string }) => {
      const since = new Date(opts.since);
      if (Number.isNaN(since.getTime())) {
        throw new MeshError('MALFORMED_REQUEST', `--since ${opts.since} is not a time`, {
          details: { field: 'since' },
        });
      }
      await withPolicy(resolve(opts.dir), async ({ stores }) => {
        printJson(io, await stores.policies.changes(since, { pageSize: 1000 }));
      });
    });

  policy
    .command('diff')
    .description('what changed between two versions, in terms of who gained or lost which access')
    .requiredOption('--dir <dir>', 'the node folder')
    .argument('<from>', 'the older version')
    .argument('[to]', 'the newer version (default: the one in force)')
    .action(async (from: string, to: string | undefined, opts: { dir: string }) => {
      await withPolicy(resolve(opts.dir), async ({ policy, stores }) => {
        const diff = await diffVersions(stores.policies, from, to ?? policy.version);
        if (diff.sentences.length === 0) io.out('no rule changed\n');
        for (const sentence of diff.sentences) io.out(`${sentence}\n`);
      });
    });

  subjectFlags(
    policy
      .command('explain')
      .description('which rule decides a request, and why each other candidate rule does not apply')
      .requiredOption('--dir <dir>', 'the node folder')
      .requiredOption('--resource <id>', 'an entry of this city')
      .requiredOption('--action <action>', POLICY_ACTIONS.join(', '))
      .option('--purpose <purpose>', 'the declared purpose', '')
      .option('--agreement', 'a live agreement covers the request'),
  ).action(
    async (
      opts: SubjectOptions & { dir: string; resource: string; action: string; purpose: string; agreement?: boolean },
    ) => {
      await withPolicy(resolve(opts.dir), async ({ policy, stores }) => {
        const at = opts.resource.indexOf('@');
        const entry = await stores.catalog.get(
          at < 0 ? opts.resource : opts.resource.slice(0, at),
          at < 0 ? undefined : opts.resource.slice(at + 1),
        );
        if (entry === undefined) {
          throw new MeshError('DATASET_NOT_FOUND', `this city publishes no entry ${opts.resource}`, {
            details: { field: 'resource' },
          });
        }
        const explained = explainQuestion(policy, {
          subject: subjectOf(opts),
          entry,
          action: actionOf(opts.action),
          purpose: opts.purpose,
          ...(opts.agreement ? { agreement: AGREEMENT_PROBE } : {}),
        });
        const rule = explained.decidedBy;
        printJson(io, {
          decision: explained.decision,
          ...(rule === undefined
            ? {}
            : {
                decidedBy: {
                  id: rule.id,
                  at: `${rule.file}:${rule.line}`,
                  rule: `p, ${Object.values(rule.cells).join(', ')}`,
                },
              }),
          rulesInSet: explained.rulesInSet,
          evaluated: explained.evaluated,
        });
      });
    },
  );

  policy
    .command('who-can')
    .description('the subjects, of any city, the policy lets do an action on an entry of this city')
    .requiredOption('--dir <dir>', 'the node folder')
    .argument('<resource>', 'an entry id of this city')
    .argument('<action>', POLICY_ACTIONS.join(', '))
    .option('--version <version>', 'under this version (default: the one in force)')
    .action(async (resource: string, action: string, opts: { dir: string; version?: string }) => {
      await withPolicy(resolve(opts.dir), async ({ policy, stores }) => {
        printJson(io, await whoCanUse(policy, stores, resource, actionOf(action), opts.version));
      });
    });

  subjectFlags(
    policy
      .command('what-can')
      .description('what a subject with these attributes may do with entries of this city')
      .requiredOption('--dir <dir>', 'the node folder'),
  ).action(async (opts: SubjectOptions & { dir: string }) => {
    await withPolicy(resolve(opts.dir), async ({ policy }) => {
      printJson(io, whatCan(policy.snapshot, subjectOf(opts)));
    });
  });
}

/** Stands for "a live agreement exists": explain only asks whether one does. */
const AGREEMENT_PROBE = { id: 'explain', state: 'AGREED' } as never;
