/**
 * Maps `items` through `work` with at most `concurrency` in flight; results in input order.
 * Each outcome is settled, so one failure neither stops the others nor loses their results.
 */
export async function mapPool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<PromiseSettledResult<R>[]> {
  const results = new Array<PromiseSettledResult<R>>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      try {
        results[index] = { status: 'fulfilled', value: await work(items[index]!, index) };
      } catch (reason) {
        results[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

/** A settled result as a check body: its value, or the error it failed with. */
export function unwrap<R>(result: PromiseSettledResult<R>): R {
  if (result.status === 'rejected') throw result.reason;
  return result.value;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
