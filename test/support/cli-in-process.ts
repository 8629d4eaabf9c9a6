import { run } from '../../cli/program.js';

/** Runs the `citymesh` CLI in this process and captures what it prints. */
export async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await run(['node', 'citymesh', ...args], {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
  });
  return { code, out, err };
}
