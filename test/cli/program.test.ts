import { readdirSync } from 'node:fs';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram, COMMAND_GROUPS } from '../../cli/program.js';

const silent = { out: () => {}, err: () => {} };
const namesOf = (program: Command) => program.commands.map((c) => c.name());

describe('citymesh command table', () => {
  it('loads, for each top-level command, the module that adds exactly that command', async () => {
    for (const name of Object.keys(COMMAND_GROUPS)) {
      expect(namesOf(await buildProgram(silent, () => {}, [name])), name).toEqual([name]);
    }
  });

  // `run` loads commands through the table only: one missing from it would never exist.
  it('covers every command that the modules of cli/commands/ register', async () => {
    const registered: string[] = [];
    const folder = new URL('../../cli/commands/', import.meta.url);
    for (const file of readdirSync(folder).filter((f) => f.endsWith('.ts'))) {
      const module = (await import(new URL(file, folder).href)) as Record<string, unknown>;
      for (const [key, value] of Object.entries(module)) {
        if (!key.startsWith('register') || typeof value !== 'function') continue;
        const program = new Command('citymesh');
        (value as (program: Command, io: typeof silent) => void)(program, silent);
        registered.push(...namesOf(program));
      }
    }
    expect(registered.sort()).toEqual(Object.keys(COMMAND_GROUPS).sort());
  });

  it('builds the whole tree in table order when no command is named', async () => {
    expect(namesOf(await buildProgram(silent))).toEqual(Object.keys(COMMAND_GROUPS));
  });
});
