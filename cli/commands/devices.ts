import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { type Command, Option } from 'commander';
import { type Clock, systemClock } from '../../common/clock.js';
import { MeshError } from '../../common/errors/index.js';
import type { DeviceStatus } from '../../common/stores/index.js';
import type { AuditLog } from '../../nodes/audit/index.js';
import { DEFAULT_IMPORT_BATCH } from '../../nodes/devices/import/device-import.js';
import { MANIFEST_FORMATS, type ManifestFormat } from '../../nodes/devices/import/manifest-file.js';
import type { CredentialArguments } from '../../nodes/devices/index.js';
import { type CliIo, printJson, processIo } from '../io.js';
import { openNodeFolder } from '../node-folder.js';

/*
 * The registry, the importer and the audit log load with an action, not with the group:
 * the audit log's signer and the device taxonomy take a second, which `devices --help`
 * and a mistyped option need not pay.
 */
const devicesModule = () => import('../../nodes/devices/index.js');

const STATUSES: readonly DeviceStatus[] = ['active', 'suspended', 'revoked'];

type Opened = ReturnType<typeof openNodeFolder> & { audit: AuditLog };

/** Opens the node folder and an audit log on its store (flushed, not closed: see agreements.ts). */
async function withNode<T>(dir: string, clock: Clock, body: (node: Opened) => Promise<T>): Promise<T> {
  const { AuditLog, keyStoreSigner } = await import('../../nodes/audit/index.js');
  const opened = openNodeFolder(resolve(dir));
  try {
    const audit = await AuditLog.open({
      store: opened.stores.audit,
      clock,
      signer: keyStoreSigner(opened.stores.keys),
      nodeId: opened.identity.spiffeId,
    });
    try {
      return await body({ ...opened, audit });
    } finally {
      await audit.flush();
    }
  } finally {
    await opened.stores.close();
  }
}

const actor = () => `cli:${userInfo().username}`;

function positiveInt(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n <= 0) {
      throw new MeshError('MALFORMED_REQUEST', `--${name} must be a positive integer, not ${value}`, {
        details: { field: name },
      });
    }
    return n;
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function addCredentialArguments(command: Command, required: boolean): Command {
  const jwk = '--jwk <jwk|file>';
  const what = 'public JWK (EC P-256 or Ed25519), inline JSON or a file';
  return (required ? command.requiredOption(jwk, what) : command.option(jwk, what))
    .option('--credential-id <id>', 'the key id devices put in their JWT kid (default: RFC 7638 thumbprint)')
    .option('--not-before <time>', 'RFC 3339 start of validity (default: now)')
    .option('--not-after <time>', 'RFC 3339 end of validity (default: a year after now)');
}

type ImportOptions = {
  dir: string;
  format?: ManifestFormat;
  job?: string;
  batch: number;
  rejects?: string;
  listRejects: number;
  progress?: boolean;
  failOnReject?: boolean;
};

/** `citymesh devices ...`: the device registry of a node and batch onboarding. `clock` and `isTty` are for tests. */
export function registerDevicesCommands(
  program: Command,
  io: CliIo,
  setExitCode: (code: number) => void = () => {},
  clock: Clock = systemClock,
  isTty: () => boolean = () => io === processIo && process.stderr.isTTY === true,
): void {
  const devices = program.command('devices').description('the device registry of a city node and batch onboarding');
  const registry = async (node: Opened) => {
    const { DeviceRegistry, defaultTaxonomy } = await devicesModule();
    const { getCity } = await import('../../common/ids/index.js');
    return new DeviceRegistry({
      store: node.stores.devices,
      clock,
      city: node.identity.city,
      cityRegion: getCity(node.identity.city).region,
      taxonomy: defaultTaxonomy(),
      audit: node.audit,
    });
  };

  devices
    .command('import')
    .description('register the devices of an NDJSON or CSV manifest; resumable, idempotent, bad lines listed')
    .argument('<file>', 'the manifest: .ndjson/.jsonl (one JSON object a line) or .csv (header on line 1)')
    .requiredOption('--dir <dir>', 'the node folder')
    .addOption(
      new Option('--format <format>', 'the file format (default: from the extension)').choices(MANIFEST_FORMATS),
    )
    .option('--job <id>', 'the job id to resume (default: from the file path and its SHA-256)')
    .option('--batch <n>', 'lines per transaction', positiveInt('batch'), DEFAULT_IMPORT_BATCH)
    .option('--rejects <file>', 'write every rejected line there, as NDJSON')
    .option('--list-rejects <n>', 'rejected lines to print', positiveInt('list-rejects'), 100)
    .option('--progress', 'draw the progress bar even when stderr is not a terminal')
    .option('--fail-on-reject', 'exit with 1 when any line was rejected (default: 0 once the job completed)')
    .action(async (file: string, opts: ImportOptions) => {
      if (!existsSync(file)) {
        throw new MeshError('MALFORMED_REQUEST', `no file ${file} to import`, { details: { field: 'file' } });
      }
      const { cityDeviceChecker, importConsole, importDevices } = await devicesModule();
      const view = importConsole({
        err: (text) => io.err(text),
        bar: opts.progress === true || isTty(),
        file,
        ...(opts.rejects === undefined ? {} : { rejectsPath: opts.rejects }),
      });
      const report = await withNode(opts.dir, clock, async (node) => {
        try {
          const done = await importDevices(
            { store: node.stores.devices, checker: cityDeviceChecker(node.identity.city), clock },
            {
              file,
              batchSize: opts.batch,
              listRejects: opts.listRejects,
              ...(opts.format === undefined ? {} : { format: opts.format }),
              ...(opts.job === undefined ? {} : { jobId: opts.job }),
              ...view.callbacks,
            },
          );
          const { jobId, source, sourceSha256, linesDone, inserted, unchanged, rejected } = done;
          const payload = { jobId, source, sourceSha256, linesDone, inserted, unchanged, rejected };
          await node.audit.append({ kind: 'devices.imported', actor: actor(), payload });
          return done;
        } finally {
          view.close();
        }
      });
      printJson(io, view.finish(report));
      if (opts.failOnReject === true && report.rejected > 0) {
        io.err(`citymesh: ${report.rejected} line(s) of ${file} were rejected (--fail-on-reject)\n`);
        setExitCode(1);
      }
    });

  const register = devices
    .command('register')
    .description('register one device, active (the same description again changes nothing)')
    .requiredOption('--dir <dir>', 'the node folder')
    .requiredOption('--id <deviceId>', 'device id, unique in the city')
    .requiredOption('--type <type>', 'device type of the industry taxonomy')
    .requiredOption('--industry <industry>', 'industry id')
    .requiredOption('--region <code>', 'GB/T 2260 code inside the city')
    .requiredOption('--owner-org <org>', 'owning organisation short name')
    .option('--attribute <name=value>', 'an attribute for policy (repeatable)', collect);
  addCredentialArguments(register, false).action(async (opts: RegisterOptions) => {
    const { attributesFromPairs, credentialFromArguments } = await devicesModule();
    const description = {
      deviceId: opts.id,
      type: opts.type,
      industry: opts.industry,
      regionCode: opts.region,
      ownerOrg: opts.ownerOrg,
      ...(opts.jwk === undefined ? {} : { credentials: [credentialFromArguments({ ...opts, jwk: opts.jwk }, clock)] }),
      ...(opts.attribute === undefined ? {} : { attributes: attributesFromPairs(opts.attribute) }),
    };
    const result = await withNode(opts.dir, clock, async (node) =>
      (await registry(node)).register(description, actor()),
    );
    printJson(io, result);
  });

  devices
    .command('get <deviceId>')
    .description('show one device')
    .requiredOption('--dir <dir>', 'the node folder')
    .action(async (deviceId: string, opts: { dir: string }) => {
      printJson(io, { device: await withNode(opts.dir, clock, async (node) => (await registry(node)).get(deviceId)) });
    });

  devices
    .command('list')
    .description("list the city's devices, a page at a time")
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--industry <industry>', 'only this industry')
    .option('--type <type>', 'only this device type')
    .option('--region-prefix <digits>', 'only regions whose code starts so (1201 = the districts of Tianjin)')
    .addOption(new Option('--status <status>', 'only this status').choices(STATUSES))
    .option('--page-size <n>', 'devices per page (at most 1000)', positiveInt('page-size'), 100)
    .option('--page-token <token>', 'nextPageToken of the previous page')
    .action(async (opts: ListOptions) => {
      const { dir, pageSize, pageToken, ...filter } = opts;
      const page = await withNode(dir, clock, async (node) =>
        (await registry(node)).list(filter, { pageSize, ...(pageToken === undefined ? {} : { pageToken }) }),
      );
      printJson(io, { devices: page.items, ...(page.nextPageToken ? { nextPageToken: page.nextPageToken } : {}) });
    });

  for (const [name, what, reasonRequired] of [
    ['suspend', 'refuse the device until resumed', true],
    ['resume', 'let a suspended device in again', false],
    ['revoke', 'refuse the device for good (final)', true],
  ] as const) {
    const command = devices
      .command(`${name} <deviceId>`)
      .description(what)
      .requiredOption('--dir <dir>', 'the node folder');
    if (reasonRequired) command.requiredOption('--reason <text>', 'why; recorded in the audit log');
    else command.option('--reason <text>', 'why; recorded in the audit log');
    command.action(async (deviceId: string, opts: { dir: string; reason?: string }) => {
      const device = await withNode(opts.dir, clock, async (node) => {
        const r = await registry(node);
        if (name === 'resume') return r.resume(deviceId, opts.reason, actor());
        return r[name](deviceId, opts.reason ?? '', actor());
      });
      printJson(io, { device });
    });
  }

  addCredentialArguments(
    devices
      .command('rotate-credential <deviceId>')
      .description('add the next key (at most 3); remove the old one with remove-credential once devices use the new')
      .requiredOption('--dir <dir>', 'the node folder'),
    true,
  ).action(async (deviceId: string, opts: CredentialArguments & { dir: string }) => {
    const { credentialFromArguments } = await devicesModule();
    const credential = credentialFromArguments(opts, clock);
    const device = await withNode(opts.dir, clock, async (node) =>
      (await registry(node)).rotateCredential(deviceId, credential, actor()),
    );
    printJson(io, { device });
  });

  devices
    .command('remove-credential <deviceId> <credentialId>')
    .description("remove a key (after the rotation's overlap); an id starting with '-' goes after `--`")
    .requiredOption('--dir <dir>', 'the node folder')
    .option('--force', 'even when it is the only key of an active device valid now')
    .action(async (deviceId: string, credentialId: string, opts: { dir: string; force?: boolean }) => {
      const device = await withNode(opts.dir, clock, async (node) =>
        (await registry(node)).removeCredential(deviceId, credentialId, actor(), opts.force === true),
      );
      printJson(io, { device });
    });
}

type RegisterOptions = Partial<CredentialArguments> & {
  dir: string;
  id: string;
  type: string;
  industry: string;
  region: string;
  ownerOrg: string;
  attribute?: string[];
};
type ListOptions = {
  dir: string;
  industry?: string;
  type?: string;
  regionPrefix?: string;
  status?: DeviceStatus;
  pageSize: number;
  pageToken?: string;
};
