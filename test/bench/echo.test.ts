import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ECHO_SERVER_ENTRY,
  type EchoCerts,
  type EchoServer,
  echoClient,
  makeEchoCerts,
  startEchoServer,
} from '../../bench/grpc-echo/index.js';
import type { BenchReport } from '../../bench/runner.js';

const BENCH_MAIN = resolve(import.meta.dirname, '../../dist/bench/main.js');

function requireBuilt(): void {
  for (const file of [BENCH_MAIN, ECHO_SERVER_ENTRY]) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run \`npx tsc -p tsconfig.json\` (npm test builds first)`);
  }
}

describe('grpc-js mTLS echo server (its own process)', () => {
  let certs: EchoCerts;
  let server: EchoServer;

  beforeAll(async () => {
    requireBuilt();
    certs = await makeEchoCerts();
    server = await startEchoServer(certs);
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('runs in a child process and echoes bytes to a client with a certificate of the cluster', async () => {
    expect(server.pid).not.toBe(process.pid);
    expect(server.address).toMatch(/^localhost:\d+$/);
    const client = echoClient(server.address, certs);
    try {
      const payload = Buffer.from([0, 1, 2, 250, 255]);
      expect((await client.call(payload)).equals(payload)).toBe(true);
      expect((await client.call(Buffer.alloc(0))).length).toBe(0);
    } finally {
      client.close();
    }
  });

  it('refuses a client that presents no certificate', async () => {
    const client = echoClient(server.address, { rootPem: certs.rootPem });
    try {
      // UNAVAILABLE, with the server's TLS 1.3 alert 116 (certificate required)
      await expect(client.call(Buffer.from('hi'))).rejects.toMatchObject({
        code: 14,
        details: expect.stringMatching(/certificate required/),
      });
    } finally {
      client.close();
    }
  });

  it('refuses a client whose certificate chains to another root', async () => {
    const stranger = await makeEchoCerts();
    const client = echoClient(server.address, { rootPem: certs.rootPem, client: stranger.client });
    try {
      await expect(client.call(Buffer.from('hi'))).rejects.toMatchObject({ code: 14 });
    } finally {
      client.close();
    }
  });

  it('stop() ends the server process', async () => {
    const own = await startEchoServer(certs);
    await own.stop();
    expect(() => process.kill(own.pid, 0)).toThrow();
    await own.stop();
  });
});

describe('npm run bench (built)', () => {
  it('writes valid contract JSON for a quick run of the harness suite', async () => {
    requireBuilt();
    const dir = mkdtempSync(join(tmpdir(), 'citymesh-bench-cli-'));
    try {
      const file = join(dir, 'bench.json');
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((done) => {
        execFile(
          process.execPath,
          [BENCH_MAIN, '--quick', '--only', 'bench.harness', '--json', file],
          { timeout: 60_000 },
          (error, out) => done({ code: error ? Number(error.code ?? 1) : 0, stdout: out }),
        );
      });
      expect(code).toBe(0);
      const report = JSON.parse(readFileSync(file, 'utf8')) as BenchReport;
      expect(report.quick).toBe(true);
      expect(report.results.map((r) => r.name)).toEqual(['bench.harness.throughput', 'bench.harness.p99']);
      for (const r of report.results) {
        expect(['ns', 'us', 'ms', 's', '1/s']).toContain(r.unit);
        expect(r.baselineValue).toBeGreaterThan(0);
        expect(r.ratio).toBe(r.value / r.baselineValue);
      }
      expect(stdout).toContain('grpc.echo.throughput');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
