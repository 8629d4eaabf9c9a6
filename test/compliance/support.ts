import { expect } from 'vitest';
import { isMeshError } from '../../common/errors/mesh-error.js';
import type { ErrorCode } from '../../common/errors/registry.js';
import type { Page, PageRequest } from '../../common/stores/paging.js';

/** What a compliance suite gets from the implementation under test: a fresh, empty store. */
export type OpenStore<S> = () => Promise<{ readonly store: S; close(): Promise<void> }>;

/** Asserts that `action` rejects with a `MeshError` of `code`; returns the error for further checks. */
export async function expectMeshError(
  action: Promise<unknown>,
  code: ErrorCode,
): Promise<Error & { details: Record<string, unknown> }> {
  let caught: unknown;
  try {
    await action;
  } catch (err) {
    caught = err;
  }
  expect(caught, `expected a MeshError ${code}`).toBeDefined();
  if (!isMeshError(caught)) throw caught;
  expect(caught.code).toBe(code);
  return caught as Error & { details: Record<string, unknown> };
}

/** Follows `nextPageToken` to the end and returns every page (at most `maxPages`, to stop runaway loops). */
export async function collectPages<T>(
  list: (page: PageRequest) => Promise<Page<T>>,
  pageSize?: number,
  maxPages = 10_000,
): Promise<T[][]> {
  const pages: T[][] = [];
  let pageToken: string | undefined;
  do {
    const page = await list({
      ...(pageSize === undefined ? {} : { pageSize }),
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    pages.push([...page.items]);
    pageToken = page.nextPageToken;
    if (pages.length > maxPages) throw new Error('paging did not terminate');
  } while (pageToken !== undefined);
  return pages;
}

/** Runs `open`, hands the store to `body` and always closes it. */
export async function withStore<S, R>(open: OpenStore<S>, body: (store: S) => Promise<R>): Promise<R> {
  const handle = await open();
  try {
    return await body(handle.store);
  } finally {
    await handle.close();
  }
}

/**
 * Forged variants of a real token: a character changed, the decoded JSON's first key
 * value changed (the one edit a curious client would try), truncated, and garbage.
 */
export function forgedTokens(token: string): string[] {
  const middle = Math.floor(token.length / 2);
  const flipped = token.slice(0, middle) + (token[middle] === 'A' ? 'B' : 'A') + token.slice(middle + 1);
  const forged: string[] = [
    flipped,
    token.slice(0, -4),
    'not-a-token',
    Buffer.from('{"k":["x"],"m":"x"}').toString('base64url'),
  ];
  try {
    const json = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { k?: unknown[] };
    if (Array.isArray(json.k) && json.k.length > 0) {
      const first = json.k[0];
      json.k[0] = typeof first === 'number' ? first + 1 : `${String(first)}~`;
      forged.push(Buffer.from(JSON.stringify(json)).toString('base64url'));
    }
  } catch {
    // Not JSON: the character-level forgeries still apply.
  }
  return forged;
}

/** A fixed instant plus `seconds`: tests never read the wall clock. */
export function at(seconds = 0): Date {
  return new Date(Date.UTC(2025, 0, 1, 0, 0, 0) + seconds * 1000);
}
