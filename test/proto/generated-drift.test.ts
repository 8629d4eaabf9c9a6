import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BUF = join(ROOT, 'node_modules', '.bin', 'buf');

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(dir, join(d.parentPath, d.name)))
    .sort();
}

describe('generated protocol code', () => {
  const out = mkdtempSync(join(tmpdir(), 'citymesh-gen-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('is exactly what `buf generate` produces from proto/ (run `npm run generate` after editing a .proto)', () => {
    execFileSync(BUF, ['generate', '--output', out], { cwd: ROOT, stdio: 'pipe' });
    const fresh = join(out, 'proto', 'gen');
    const committed = join(ROOT, 'proto', 'gen');
    expect(listFiles(committed)).toEqual(listFiles(fresh));
    for (const file of listFiles(fresh)) {
      expect(readFileSync(join(committed, file), 'utf8'), file).toBe(readFileSync(join(fresh, file), 'utf8'));
    }
  });
});
