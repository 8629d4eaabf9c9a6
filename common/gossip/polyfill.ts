/**
 * `Promise.withResolvers` for Node 20: libp2p, its transports, gossipsub, it-queue and
 * mortice call it, and it arrived only in Node 22. Import this module before anything
 * that reaches libp2p; it does nothing where the runtime already has it.
 */
interface WithResolvers {
  withResolvers?<T>(): {
    promise: Promise<T>;
    resolve: (value: T | PromiseLike<T>) => void;
    reject: (reason?: unknown) => void;
  };
}

const PromiseWith = Promise as unknown as WithResolvers;

if (typeof PromiseWith.withResolvers !== 'function') {
  PromiseWith.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

export {};
