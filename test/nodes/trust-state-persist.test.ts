import { readdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { nodePath, TrustState } from '../../nodes/index.js';
import { readNodeFile, writeFileAtomicAsync } from '../../nodes/trust/node-files.js';
import { type JwkSet, verifyClusterMetadata } from '../../trust-anchor/index.js';
import { codeOf, joinCity, startTestAnchor, TempDirs, type TestAnchor } from '../support/anchor-harness.js';

// Counts verifications while keeping the real one: the same bytes must not be verified twice.
vi.mock(import('../../trust-anchor/index.js'), async (original) => {
  const actual = await original();
  return { ...actual, verifyClusterMetadata: vi.fn(actual.verifyClusterMetadata) };
});

const dirs = new TempDirs();
afterAll(() => dirs.removeAll());

/** One write the node asked for, held until the test lets it reach the disk. */
interface HeldWrite {
  readonly file: string;
  readonly content: string;
  release(): Promise<void>;
  fail(err: Error): void;
}

/** A disk that writes only when told to: the node's writes queue up in the order asked. */
class HeldDisk {
  readonly pending: HeldWrite[] = [];
  /** `<file> v<version>` of every write that reached the disk, in order. */
  readonly written: string[] = [];
  #arrived: (() => void) | undefined;

  readonly write = (path: string, content: string): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      this.pending.push({
        file: basename(path),
        content,
        release: async () => {
          await writeFileAtomicAsync(path, content);
          this.written.push(`${basename(path)} ${describeContent(content)}`);
          resolve();
        },
        fail: reject,
      });
      this.#arrived?.();
    });

  /** The next write asked for (waits for it), taken off the queue. */
  async next(): Promise<HeldWrite> {
    while (this.pending.length === 0) await new Promise<void>((r) => (this.#arrived = r));
    return this.pending.shift()!;
  }
}

/** What a written file holds: the metadata version, or the pinned kids. */
function describeContent(content: string): string {
  if (content.startsWith('{')) {
    return `[${(JSON.parse(content) as JwkSet).keys
      .map((k) => k.kid)
      .sort()
      .join(',')}]`;
  }
  return `v${(decodeJwt(content) as { version: number }).version}`;
}

const diskVersion = (dir: string) => (decodeJwt(readNodeFile(dir, 'metadata')) as { version: number }).version;

describe('trust state persistence', () => {
  let t: TestAnchor;
  let dir: string;
  let disk: HeldDisk;
  let state: TrustState;
  const jwtOf = async (version: number) => (await t.stores.anchor.getMetadata(version))!.jwt;

  beforeEach(async () => {
    t = await startTestAnchor();
    ({ dir } = await joinCity(t, dirs, 'beijing'));
    await joinCity(t, dirs, 'tianjin');
    disk = new HeldDisk();
    state = await TrustState.load(dir, t.clock, { writeFile: disk.write, retryMs: 10 });
  });
  afterEach(() => t.stop());

  it('holds a verified newer version at once and writes it afterwards', async () => {
    const before = diskVersion(dir);
    const v = (await t.anchor.revoke('city', 'tianjin', 'test')).version;
    const admitted = await state.admit(await jwtOf(v));
    expect(admitted).toMatchObject({ version: v, changed: true });
    // Current in memory, so every check uses it, while the disk still has the old version.
    expect(state.metadata.version).toBe(v);
    expect(state.metadata.revocations.map((r) => r.id)).toContain('tianjin');
    expect(diskVersion(dir)).toBe(before);
    let persisted = false;
    void admitted.persisted.then(() => (persisted = true));

    await (await disk.next()).release();
    await (await disk.next()).release();
    await admitted.persisted;
    expect(persisted).toBe(true);
    expect(diskVersion(dir)).toBe(v);
    expect((await TrustState.load(dir, t.clock)).metadata.version).toBe(v);
  });

  it('accept (the pull) resolves only once the version is on disk', async () => {
    const v = (await t.anchor.revoke('city', 'tianjin', 'test')).version;
    let accepted = false;
    const pull = state.accept(await jwtOf(v)).then((r) => {
      accepted = true;
      return r;
    });
    await (await disk.next()).release();
    await new Promise((r) => setTimeout(r, 20));
    expect(accepted).toBe(false);
    await (await disk.next()).release();
    expect(await pull).toEqual({ version: v, changed: true });
    expect(diskVersion(dir)).toBe(v);
  });

  it('writes versions admitted at once strictly in order; a crash at any point leaves a state that loads, never a newer one overwritten', async () => {
    // A key rollover and the old key's revocation: each version's pins are needed by the next.
    const start = diskVersion(dir);
    const oldKid = state.metadata.anchor_keys.keys[0]!.kid!;
    const published = await t.anchor.rotate('publish');
    const activated = await t.anchor.rotate('activate', { force: true });
    const revokedKey = await t.anchor.revoke('key', oldKid, 'rolled over');
    const versions = [published.version, activated.version, revokedKey.version];
    const docs = await Promise.all(versions.map(jwtOf));
    // Deliveries at once, as gossip brings them: a repeat changes nothing, an older one is refused.
    const admissions = await Promise.all([
      state.admit(docs[0]!),
      state.admit(docs[0]!),
      state.admit(docs[1]!),
      state.admit(docs[2]!),
      codeOf(state.admit(docs[1]!)),
    ]);
    expect(admissions.slice(0, 4).map((a) => typeof a === 'object' && [a.version, a.changed])).toEqual([
      [versions[0], true],
      [versions[0], false],
      [versions[1], true],
      [versions[2], true],
    ]);
    expect(admissions[4]).toBe('METADATA_ROLLBACK');
    expect(state.metadata.version).toBe(versions[2]);
    expect(state.metadata.anchor_keys.keys.map((k) => k.kid)).not.toContain(oldKid);

    // Step the disk one write at a time; after each, a restart must load a verified state.
    let last = start;
    const seen: number[] = [];
    for (;;) {
      const restarted = await TrustState.load(dir, t.clock);
      const held = restarted.metadata.version;
      expect(held).toBeGreaterThanOrEqual(last);
      expect(held).toBeLessThanOrEqual(versions[2]!);
      last = held;
      seen.push(held);
      if (disk.pending.length === 0 && disk.written.length === 6) break;
      await (await disk.next()).release();
    }
    expect(disk.written).toEqual([
      `metadata.jwt v${versions[0]}`,
      expect.stringMatching(/^anchor-keys\.json \[/),
      `metadata.jwt v${versions[1]}`,
      expect.stringMatching(/^anchor-keys\.json \[/),
      `metadata.jwt v${versions[2]}`,
      `anchor-keys.json [${state.metadata.anchor_keys.keys
        .map((k) => k.kid)
        .sort()
        .join(',')}]`,
    ]);
    expect(disk.written[1]).toContain(oldKid);
    expect(disk.written[5]).not.toContain(oldKid);
    expect(seen.at(-1)).toBe(versions[2]);
    await state.flush();
    const pins = JSON.parse(readNodeFile(dir, 'pins')) as JwkSet;
    expect(pins.keys.map((k) => k.kid)).not.toContain(oldKid);
    // The state left after each crash point recovers by its next pull.
    const recovered = await TrustState.load(dir, t.clock);
    expect((await recovered.refresh()).version).toBe(versions[2]);
  });

  it('after a crash before the write, the node holds the older version and its next pull recovers', async () => {
    const before = diskVersion(dir);
    const v = (await t.anchor.revoke('city', 'tianjin', 'test')).version;
    await state.admit(await jwtOf(v));
    expect(state.metadata.version).toBe(v);
    // "Crash": the pending write never happens; the process starts again from the files.
    const restarted = await TrustState.load(dir, t.clock);
    expect(restarted.metadata.version).toBe(before);
    expect(await restarted.refresh()).toEqual({ version: v, changed: true });
    expect(diskVersion(dir)).toBe(v);
  });

  it('a failed write is tried again before any later version is written; the version is held meanwhile', async () => {
    const first = (await t.anchor.revoke('city', 'tianjin', 'test')).version;
    const second = (await t.anchor.rotate('publish')).version;
    const a = await state.admit(await jwtOf(first));
    const b = await state.admit(await jwtOf(second));
    expect(state.metadata.version).toBe(second);
    (await disk.next()).fail(new Error('EIO: disk gone'));
    expect(
      await a.persisted.then(
        () => 'written',
        (err: Error) => err.message,
      ),
    ).toBe('EIO: disk gone');
    // The retry of the same version comes before the next one.
    const retried = await disk.next();
    expect([retried.file, describeContent(retried.content)]).toEqual(['metadata.jwt', `v${first}`]);
    await retried.release();
    for (let i = 0; i < 3; i++) await (await disk.next()).release();
    await b.persisted;
    expect(disk.written.map((w) => w.split(' ')[0])).toEqual([
      'metadata.jwt',
      'anchor-keys.json',
      'metadata.jwt',
      'anchor-keys.json',
    ]);
    expect(diskVersion(dir)).toBe(second);
    // accept reports a failed write as its error, with the version held all the same.
    const third = (await t.anchor.revoke('city', 'beijing', 'test')).version;
    const pull = state.accept(await jwtOf(third));
    (await disk.next()).fail(new Error('ENOSPC'));
    await expect(pull).rejects.toThrow('ENOSPC');
    expect(state.metadata.version).toBe(third);
    // A pull of the version held meanwhile reports the same failure instead of waiting.
    await expect(state.accept(await jwtOf(third))).rejects.toThrow('ENOSPC');
    await (await disk.next()).release();
    await (await disk.next()).release();
    await state.flush();
    expect(diskVersion(dir)).toBe(third);
    expect(await state.accept(await jwtOf(third))).toEqual({ version: third, changed: false });
  });

  it('verifies a document once: the same bytes again (another topic, a pull) are held without a check or a write', async () => {
    const verify = vi.mocked(verifyClusterMetadata);
    const v = (await t.anchor.revoke('city', 'tianjin', 'test')).version;
    const jwt = await jwtOf(v);
    const calls = verify.mock.calls.length;
    const [first, again, third] = await Promise.all([state.admit(jwt), state.admit(jwt), state.admit(jwt)]);
    expect([first.changed, again.changed, third.changed]).toEqual([true, false, false]);
    expect(verify.mock.calls.length - calls).toBe(1);
    // Unchanged bytes wait for the pending write of what they repeat, and ask for none.
    let repeatWritten = false;
    void again.persisted.then(() => (repeatWritten = true));
    await (await disk.next()).release();
    await (await disk.next()).release();
    await first.persisted;
    await again.persisted;
    expect(repeatWritten).toBe(true);
    expect(disk.pending).toHaveLength(0);
    expect(disk.written).toHaveLength(2);

    // Once it has expired, the held document is checked in full again, and refused.
    t.clock.set(state.metadata.exp * 1000 + 120_000);
    expect(await codeOf(state.admit(jwt))).toBe('METADATA_EXPIRED');
    expect(verify.mock.calls.length - calls).toBe(2);
  });

  it('writes a file atomically off the event loop: overlapping writes of one path leave one whole content and no temporary files', async () => {
    const path = nodePath(dir, 'metadata');
    const [a, b] = ['a'.repeat(100_000), 'b'.repeat(100_000)];
    await Promise.all([writeFileAtomicAsync(path, a), writeFileAtomicAsync(path, b)]);
    expect([a, b]).toContain(readNodeFile(dir, 'metadata'));
    expect(readdirSync(dirname(path)).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
