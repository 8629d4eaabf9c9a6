import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import type { Server, ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ECHO_RELAY_ENTRY,
  ECHO_SERVER_ENTRY,
  type EchoCerts,
  type EchoServer,
  echoClient,
  makeEchoCerts,
  measureEchoBaseline,
  measureRelayBaseline,
  relayThroughputResult,
  startEchoRelay,
  startEchoServer,
} from '../../bench/grpc-echo/index.js';
import { serveEcho } from '../../bench/grpc-echo/serve.js';
import type { BenchContext } from '../../bench/result.js';
import { contractViolation } from '../../bench/validate.js';

function requireBuilt(): void {
  for (const file of [ECHO_SERVER_ENTRY, ECHO_RELAY_ENTRY]) {
    if (!existsSync(file))
      throw new Error(`${file} is missing: run \`npx tsc -p tsconfig.json\` (npm test builds first)`);
  }
}

/** A port nothing listens on: bound by the OS, then released. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, 'localhost', () => {
      const address = probe.address();
      probe.close(() =>
        typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

describe('grpc-js mTLS echo relay (its own process)', () => {
  let certs: EchoCerts;
  // An upstream in this process that records what reaches it and answers reversed bytes,
  // so an answer can only have come through it.
  const seen: { payload: Buffer; peerSan: string }[] = [];
  let upstream: { server: Server; port: number };
  let relay: EchoServer;

  beforeAll(async () => {
    requireBuilt();
    certs = await makeEchoCerts();
    upstream = await serveEcho(
      certs.rootPem,
      certs.server,
      (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        seen.push({
          payload: Buffer.from(call.request),
          peerSan: call.getAuthContext().sslPeerCertificate?.subjectaltname ?? '',
        });
        callback(null, Buffer.from(call.request).reverse());
      },
    );
    relay = await startEchoRelay(certs, `localhost:${upstream.port}`);
  });
  afterAll(async () => {
    await relay?.stop();
    upstream?.server.forceShutdown();
  });

  it('runs in a child process and makes each call again upstream over mTLS, answering with its response', async () => {
    expect(relay.pid).not.toBe(process.pid);
    expect(relay.address).toMatch(/^localhost:\d+$/);
    const client = echoClient(relay.address, certs);
    seen.length = 0;
    try {
      const payloads = Array.from({ length: 20 }, (_, i) => Buffer.from([i, 1, 2, 250, 255]));
      const answers = await Promise.all(payloads.map((p) => client.call(p)));
      answers.forEach((answer, i) => {
        expect(answer.equals(Buffer.from(payloads[i]!).reverse())).toBe(true);
      });
      expect(seen.length).toBe(payloads.length);
      expect(seen.map((s) => s.payload.toString('hex')).sort()).toEqual(payloads.map((p) => p.toString('hex')).sort());
      // The upstream hop is mTLS: the relay presented the cluster's client identity.
      expect(seen.every((s) => s.peerSan.includes('spiffe://tianjin.jjj.citymesh/node/bench'))).toBe(true);
    } finally {
      client.close();
    }
  });

  it('forwards to the real echo server process end to end', async () => {
    const echo = await startEchoServer(certs);
    const own = await startEchoRelay(certs, echo.address);
    const client = echoClient(own.address, certs);
    try {
      const payload = Buffer.alloc(1_386, 0x5a);
      expect((await client.call(payload)).equals(payload)).toBe(true);
    } finally {
      client.close();
      await own.stop();
      await echo.stop();
    }
  });

  it('fails a call whose upstream is down with UNAVAILABLE and details naming the upstream', async () => {
    const down = `localhost:${await closedPort()}`;
    const own = await startEchoRelay(certs, down);
    const client = echoClient(own.address, certs);
    try {
      await expect(client.call(Buffer.from('hi'))).rejects.toMatchObject({
        code: 14,
        details: expect.stringContaining(`relay upstream ${down} failed`),
      });
    } finally {
      client.close();
      await own.stop();
    }
  });

  it('refuses a client that presents no certificate', async () => {
    const client = echoClient(relay.address, { rootPem: certs.rootPem });
    seen.length = 0;
    try {
      await expect(client.call(Buffer.from('hi'))).rejects.toMatchObject({ code: 14 });
      expect(seen.length).toBe(0);
    } finally {
      client.close();
    }
  });

  it('stop() ends the relay process', async () => {
    const own = await startEchoRelay(certs, `localhost:${upstream.port}`);
    await own.stop();
    expect(() => process.kill(own.pid, 0)).toThrow();
    await own.stop();
  });
});

describe('grpc.relay.throughput', () => {
  it('is a contract result against grpc.echo.throughput, without a goal, from a quick run', async () => {
    requireBuilt();
    const progress: string[] = [];
    const context: BenchContext = { workDir: tmpdir(), quick: true, progress: (m) => progress.push(m) };
    const echo = await measureEchoBaseline(context);
    const relay = await measureRelayBaseline(context, { payloadBytes: 1_386, concurrency: echo.concurrency });
    expect(relay.payloadBytes).toBe(1_386);
    expect(relay.concurrency).toBe(64);
    expect(relay.throughput).toBeGreaterThan(0);
    expect(relay.cpuPerCall).toMatch(/^bench [\d.?]+, relay [\d.?]+, echo [\d.?]+$/);
    const result = relayThroughputResult(relay, echo);
    expect(contractViolation(result)).toBeUndefined();
    expect(result).toEqual({
      name: 'grpc.relay.throughput',
      value: relay.throughput,
      unit: '1/s',
      baseline: 'grpc.echo.throughput',
      baselineValue: echo.throughput,
      ratio: relay.throughput / echo.throughput,
    });
    expect(progress.some((m) => m.startsWith('grpc.relay:') && m.includes('CPU ms per call'))).toBe(true);
  });
});
