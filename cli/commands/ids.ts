import { type Command, Option } from 'commander';
import {
  parseCityName,
  parseClusterName,
  parseDeviceId,
  parseRegionCode,
  parseResourceId,
  parseSpiffeId,
} from '../../common/ids/index.js';
import { type CliIo, printJson } from '../io.js';

const PARSERS = {
  cluster: (v: string) => ({ cluster: parseClusterName(v) }),
  city: (v: string) => ({ city: parseCityName(v) }),
  spiffe: (v: string) => parseSpiffeId(v),
  resource: (v: string) => parseResourceId(v),
  device: (v: string) => ({ deviceId: parseDeviceId(v) }),
  region: (v: string) => ({ region: parseRegionCode(v) }),
} as const;
type Kind = keyof typeof PARSERS;

/** Guesses what an identifier is from its shape, so `citymesh ids parse X` needs no flag. */
function guessKind(value: string): Kind {
  if (value.toLowerCase().startsWith('spiffe:')) return 'spiffe';
  if (/^\d+$/.test(value)) return 'region';
  if (value.includes('/')) return 'resource';
  return 'city';
}

/** `citymesh ids parse`: check an identifier against its grammar and show its parts. */
export function registerIdsCommands(program: Command, io: CliIo): void {
  const ids = program.command('ids').description('check identifiers (SPIFFE, dataset, region, city, ...)');
  ids
    .command('parse')
    .description('parse an identifier strictly and print its parts, or say which rule it breaks')
    .argument('<value>', 'the identifier')
    .addOption(
      new Option('--kind <kind>', 'what the identifier is (guessed from its shape if absent)').choices(
        Object.keys(PARSERS),
      ),
    )
    .action((value: string, opts: { kind?: Kind }) => {
      const kind = opts.kind ?? guessKind(value);
      printJson(io, { identifier: kind, ...PARSERS[kind](value) });
    });
}
