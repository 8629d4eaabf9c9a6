import { defineConfig } from 'vitest/config';

/** Files that replace a module with `vi.mock`: they need a module registry of their own. */
const ISOLATED = ['test/nodes/trust-state-persist.test.ts'];

export default defineConfig({
  test: {
    exclude: ['node_modules/**', 'dist/**'],
    pool: 'forks',
    // Vitest's default outside watch mode is one worker fewer than the CPUs: on a 2-core CI
    // machine that is a single worker, while much of the suite waits on child processes.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'suite',
          include: ['test/**/*.test.ts'],
          exclude: ['node_modules/**', 'dist/**', ...ISOLATED],
          // Files of one worker share its loaded modules: importing the trust anchor, gRPC,
          // libp2p and oidc-provider again for each of 126 files was about 40 % of the
          // suite's CPU. Every file still builds its own anchors, nodes and stores.
          isolate: false,
        },
      },
      { extends: true, test: { name: 'isolated', include: ISOLATED } },
    ],
  },
});
