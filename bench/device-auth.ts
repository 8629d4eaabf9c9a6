import { createPublicKey, generateKeyPairSync, type KeyObject, randomUUID, sign, verify } from 'node:crypto';
import { systemClock } from '../common/clock.js';
import type { Device } from '../common/stores/device-store.js';
import type { PublicJwk } from '../common/stores/json.js';
import { DeviceTokenVerifier } from '../nodes/devices/auth/index.js';
import { MemoryReplayCache, type ReplayCache } from '../nodes/exchange/replay-cache.js';
import { benchTiming } from './load.js';
import { type BenchContext, type BenchSuite, benchResult } from './result.js';

const AUDIENCE = 'https://beijing.jjj.example';
const PREFIX = 'spiffe://beijing.jjj.citymesh/device/';
/** Measured windows alternate between the contenders, so load drifting during the run hits both alike. */
const ROUNDS = 20;
/** Operations between two looks at the clock. */
const CHECK_EVERY = 64;

interface Pair {
  readonly alg: 'ES256' | 'EdDSA';
  readonly privateKey: KeyObject;
  readonly jwk: PublicJwk;
}

/** One token and what the bare verify needs for the same signature. */
interface Signed {
  readonly token: string;
  readonly alg: Pair['alg'];
  readonly key: KeyObject;
  readonly signingInput: Buffer;
  readonly signature: Buffer;
}

function pair(alg: Pair['alg']): Pair {
  const { privateKey, publicKey } =
    alg === 'ES256' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('ed25519');
  return { alg, privateKey, jwk: publicKey.export({ format: 'jwk' }) as PublicJwk };
}

function device(index: number, key: Pair, now: Date): Device {
  return {
    city: 'beijing',
    deviceId: `cam-${String(index).padStart(6, '0')}`,
    type: 'transport/traffic-camera',
    industry: 'transport',
    regionCode: '110105',
    ownerOrg: 'traffic-bureau',
    status: 'active',
    credentials: [
      {
        // Per device, as a key thumbprint would be: no two devices share a header.
        credentialId: `k-${index}`,
        kind: 'jwk',
        publicJwk: key.jwk,
        notBefore: new Date(now.getTime() - 86_400_000),
        notAfter: new Date(now.getTime() + 86_400_000),
      },
    ],
    createdAt: now,
    updatedAt: now,
  };
}

/** A device token as a device writes it (device-identity.md §5.1), signed with node:crypto. */
function deviceToken(d: Device, key: Pair, publicKey: KeyObject, nowS: number): Signed {
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const sub = `${PREFIX}${d.deviceId}`;
  const input = `${b64({ alg: key.alg, typ: 'citymesh-device+jwt', kid: d.credentials[0]!.credentialId })}.${b64({
    iss: sub,
    sub,
    aud: AUDIENCE,
    iat: nowS,
    exp: nowS + 3600,
    jti: randomUUID(),
  })}`;
  const signingInput = Buffer.from(input);
  const signature =
    key.alg === 'ES256'
      ? sign('sha256', signingInput, { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      : sign(null, signingInput, key.privateKey);
  return {
    token: `${input}.${signature.toString('base64url')}`,
    alg: key.alg,
    key: publicKey,
    signingInput,
    signature,
  };
}

/** Operations per second of `op` (awaited only when it returns a promise), run for `ms`. */
async function rate(op: () => unknown, ms: number): Promise<{ ops: number; seconds: number }> {
  let ops = 0;
  const start = performance.now();
  const end = start + ms;
  let now = start;
  while (now < end) {
    for (let i = 0; i < CHECK_EVERY; i++) {
      const result = op();
      if (result instanceof Promise) await result;
    }
    ops += CHECK_EVERY;
    now = performance.now();
  }
  return { ops, seconds: (now - start) / 1000 };
}

/** Rates of several operations, measured in alternating rounds after a warm-up of each. */
async function alternating(ops: Readonly<Record<string, () => unknown>>, durationMs: number, warmupMs: number) {
  const totals = Object.fromEntries(Object.keys(ops).map((name) => [name, { ops: 0, seconds: 0 }]));
  for (const op of Object.values(ops)) await rate(op, warmupMs);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, op] of Object.entries(ops)) {
      const r = await rate(op, durationMs / ROUNDS);
      totals[name]!.ops += r.ops;
      totals[name]!.seconds += r.seconds;
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([name, t]) => [name, t.ops / t.seconds]));
}

/**
 * `devices.auth.rate`: device JWT authentications per second, every rule of device-identity.md §5
 * §2 included, with fresh tokens (each `jti` used once, so every one costs a signature
 * verification) from devices of a 100,000-device registry read through an async lookup on
 * every call, half P-256 (ES256) and half Ed25519 (EdDSA). Baseline `node.crypto.verify`:
 * the bare node:crypto verification of the same signatures with reused KeyObjects, in the
 * same run. The tokens come from 8,192 devices (2,048 with `--quick`) spread over the
 * registry, whose keys are imported before measuring and fit the key cache (a cold key
 * costs one import, about one verification); when the token pool has been used up, a new
 * replay cache starts, so every authentication still records a first use.
 * Goal: at least 0.8 of the bare verify.
 */
export const deviceAuthSuite: BenchSuite = {
  name: 'devices.auth',
  async run(context: BenchContext) {
    const { durationMs, warmupMs } = benchTiming(context.quick);
    const deviceCount = 100_000;
    const keyCount = context.quick ? 512 : 2048;
    const tokenCount = context.quick ? 8_192 : 32_768;
    const now = systemClock.now();
    const nowS = Math.floor(now.getTime() / 1000);
    context.progress(`devices.auth: ${deviceCount} devices, ${keyCount} key pairs, ${tokenCount} tokens`);
    const keys = Array.from({ length: keyCount }, (_, i) => pair(i % 2 === 0 ? 'ES256' : 'EdDSA'));
    const devices = new Map<string, Device>();
    for (let i = 0; i < deviceCount; i++) {
      const d = device(i, keys[i % keyCount]!, now);
      devices.set(d.deviceId, d);
    }
    // Devices spread over the registry (a stride coprime with its size), each with its own key slot.
    const signers = Array.from({ length: Math.min(tokenCount / 4, deviceCount) }, (_, i) => (i * 7919) % deviceCount);
    // The bare verify gets what the verifier holds: one KeyObject per device, imported from its JWK.
    const imported = signers.map((index) => createPublicKey({ key: keys[index % keyCount]!.jwk, format: 'jwk' }));
    const signed = Array.from({ length: tokenCount }, (_, i) => {
      const index = signers[i % signers.length]!;
      const d = devices.get(`cam-${String(index).padStart(6, '0')}`)!;
      return deviceToken(d, keys[index % keyCount]!, imported[i % signers.length]!, nowS);
    });

    let replay = new MemoryReplayCache({ maxEntries: tokenCount });
    const sharedReplay: ReplayCache = { firstUse: (key, forgetAt, at) => replay.firstUse(key, forgetAt, at) };
    const verifier = new DeviceTokenVerifier({
      cluster: 'jjj',
      city: 'beijing',
      audience: AUDIENCE,
      lookup: async (_city, deviceId) => devices.get(deviceId),
      replay: sharedReplay,
    });
    let next = 0;
    const authenticate = () => {
      if (next === tokenCount) {
        next = 0;
        replay = new MemoryReplayCache({ maxEntries: tokenCount });
      }
      return verifier.verify(signed[next++]!.token);
    };
    let nextRaw = 0;
    const raw = () => {
      const s = signed[nextRaw]!;
      nextRaw = (nextRaw + 1) % tokenCount;
      const ok =
        s.alg === 'ES256'
          ? verify('sha256', s.signingInput, { key: s.key, dsaEncoding: 'ieee-p1363' }, s.signature)
          : verify(null, s.signingInput, s.key, s.signature);
      if (!ok) throw new Error('bad signature');
    };
    // Steady state: each signing device's key imported once before the clock starts, as on
    // a node whose devices authenticate again and again (a cold key costs one more import).
    for (let i = 0; i < signers.length; i++) await authenticate();
    context.progress('devices.auth: device JWT authentication vs node:crypto.verify');
    const rates = await alternating({ raw, authenticate }, durationMs, warmupMs);
    context.progress(`devices.auth: ${verifier.cachedKeys} credential keys imported`);
    return [
      benchResult({
        name: 'devices.auth.rate',
        value: rates.authenticate!,
        unit: '1/s',
        baseline: 'node.crypto.verify',
        baselineValue: rates.raw!,
        goal: { on: 'ratio', op: '>=', target: 0.8 },
      }),
    ];
  },
};
