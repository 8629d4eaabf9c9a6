import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { MeshError } from '../../common/errors/mesh-error.js';
import { type Logger, silentLogger } from '../../common/logger.js';
import type { PublicJwk } from '../../common/stores/index.js';
import {
  EnrolRequest,
  EnrolResponse,
  RenewCityCaRequest,
  RenewCityCaResponse,
} from '../../proto/gen/citymesh/v1/trust_service.js';
import type { TrustAnchor } from '../service/trust-anchor.js';
import { httpError } from './errors.js';

/** Largest request body the anchor reads (an enrolment is a few KiB). */
const MAX_BODY_BYTES = 64 * 1024;

type Reply = { status?: number; type: string; body: string; headers?: Record<string, string> };
type Route = (anchor: TrustAnchor, url: URL, body: string) => Promise<Reply>;

const JWT =
  (type: string) =>
  (body: string): Reply => ({ type: `application/${type}`, body });

/** GET routes of OpenID Federation 1.0 plus the cluster metadata and the root CA. */
const GET_ROUTES: Record<string, Route> = {
  '/.well-known/openid-federation': async (a) => JWT('entity-statement+jwt')(await a.entityConfiguration()),
  '/fetch': async (a, url) => {
    const sub = url.searchParams.get('sub');
    if (!sub) throw missingParam('sub');
    const iss = url.searchParams.get('iss');
    if (iss && iss !== a.identity.entityId) {
      throw new MeshError('MEMBER_NOT_FOUND', `this anchor is ${a.identity.entityId}, not ${iss}`, {
        details: { field: 'iss' },
      });
    }
    return JWT('entity-statement+jwt')(await a.fetchStatement(sub));
  },
  '/resolve': async (a, url) => {
    const sub = url.searchParams.get('sub');
    if (!sub) throw missingParam('sub');
    const anchorId = url.searchParams.get('trust_anchor');
    if (anchorId && anchorId !== a.identity.entityId) {
      throw new MeshError(
        'TRUST_CHAIN_INVALID',
        `this anchor is ${a.identity.entityId}; it cannot resolve to ${anchorId}`,
        {
          details: { field: 'trust_anchor' },
        },
      );
    }
    const resolved = await a.resolve(sub, { entityTypes: url.searchParams.getAll('entity_type') });
    return JWT('resolve-response+jwt')(resolved.jwt);
  },
  '/list': async (a) => ({ type: 'application/json', body: JSON.stringify(await a.listSubordinates()) }),
  '/historical-keys': async (a) => JWT('jwk-set+jwt')(await a.historicalKeys()),
  '/cluster-metadata': async (a) => {
    const m = await a.currentMetadata();
    return {
      type: 'application/citymesh-cluster-metadata+jwt',
      body: m.jwt,
      headers: { 'citymesh-metadata-version': String(m.version), 'cache-control': 'no-store' },
    };
  },
  '/ca': async (a) => ({ type: 'application/x-pem-file', body: a.trustBundlePem }),
};

/** POST /enrol: TrustService.Enrol in the proto3 JSON mapping. */
async function enrol(anchor: TrustAnchor, body: string): Promise<Reply> {
  let request: EnrolRequest;
  try {
    request = EnrolRequest.fromJSON(JSON.parse(body));
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', 'EnrolRequest: the body is not JSON', {
      details: { field: 'body' },
      cause,
    });
  }
  let federationJwks: PublicJwk[];
  try {
    federationJwks = (JSON.parse(request.federationJwks) as { keys: PublicJwk[] }).keys;
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', 'EnrolRequest.federation_jwks: must be a JWK Set as JSON text', {
      details: { field: 'federation_jwks' },
      cause,
    });
  }
  const r = await anchor.enrol({
    joinToken: request.joinToken,
    city: request.city,
    nodeName: request.nodeName,
    caCsrPem: request.caCsrPem,
    entityId: request.entityId,
    federationJwks,
    grpcEndpoint: request.endpoint,
    // proto3 cannot tell an absent string from an empty one: empty means the node does not gossip.
    ...(request.gossipPeerId === '' ? {} : { gossipPeerId: request.gossipPeerId }),
    ...(request.gossipAddress === '' ? {} : { gossipAddress: request.gossipAddress }),
  });
  const response: EnrolResponse = {
    cluster: r.cluster,
    nodeId: r.nodeId,
    cityCaPem: r.cityCaPem,
    trustBundlePem: r.trustBundlePem,
    subordinateStatement: r.subordinateStatement,
    clusterMetadata: r.clusterMetadata,
    anchorEntityId: r.anchorEntityId,
    anchorJwks: JSON.stringify({ keys: r.anchorKeys }),
  };
  return { type: 'application/json', body: JSON.stringify(EnrolResponse.toJSON(response)) };
}

/** POST /renew-city-ca: TrustService.RenewCityCa, authenticated by the node's SVID over mTLS. */
async function renewCityCa(anchor: TrustAnchor, req: IncomingMessage, body: string): Promise<Reply> {
  const socket = req.socket as TLSSocket;
  const peer = socket.getPeerCertificate?.(false);
  if (!socket.authorized || peer === undefined || !peer.raw) {
    throw new MeshError(
      'CREDENTIALS_MISSING',
      `RenewCityCa needs the node certificate as a TLS client certificate chaining to the cluster root${
        socket.authorizationError ? ` (${String(socket.authorizationError)})` : ''
      }`,
      {},
    );
  }
  let request: RenewCityCaRequest;
  try {
    request = RenewCityCaRequest.fromJSON(JSON.parse(body));
  } catch (cause) {
    throw new MeshError('MALFORMED_REQUEST', 'RenewCityCaRequest: the body is not JSON', {
      details: { field: 'body' },
      cause,
    });
  }
  const leaf = new X509Certificate(peer.raw).toString();
  const r = await anchor.renewCityCa({ clientCertificatePems: [leaf], caCsrPem: request.caCsrPem });
  const response: RenewCityCaResponse = { cityCaPem: r.cityCaPem, expiresAt: r.expiresAt };
  return { type: 'application/json', body: JSON.stringify(RenewCityCaResponse.toJSON(response)) };
}

function missingParam(name: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `query parameter ${name} is required`, { details: { field: name } });
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) {
      throw new MeshError('MALFORMED_REQUEST', `request body is larger than ${MAX_BODY_BYTES} bytes`, {
        details: { field: 'body' },
      });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Options of {@link startAnchorServer}. */
export interface AnchorServerInit {
  readonly anchor: TrustAnchor;
  readonly host: string;
  readonly port: number;
  readonly logger?: Logger;
}

/** A running anchor endpoint. */
export interface AnchorServer {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the anchor over HTTPS with its cluster-root-issued TLS certificate. */
export async function startAnchorServer(init: AnchorServerInit): Promise<AnchorServer> {
  const log = init.logger ?? silentLogger;
  const { keyPem, certPem } = await init.anchor.tlsCredentials();
  // A client certificate is asked for but optional: only RenewCityCa needs one (the
  // node's SVID); the handler authenticates it, the TLS layer only checks it chains.
  const server: Server = createServer(
    {
      key: keyPem,
      cert: certPem,
      minVersion: 'TLSv1.3',
      requestCert: true,
      rejectUnauthorized: false,
      ca: init.anchor.trustBundlePem,
    },
    (req, res) => {
      void handle(init.anchor, req, res, log);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(init.port, init.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://localhost:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function handle(anchor: TrustAnchor, req: IncomingMessage, res: ServerResponse, log: Logger): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://anchor.invalid');
  try {
    let reply: Reply;
    if (req.method === 'GET' && GET_ROUTES[url.pathname]) {
      reply = await GET_ROUTES[url.pathname]!(anchor, url, '');
    } else if (req.method === 'POST' && url.pathname === '/enrol') {
      reply = await enrol(anchor, await readBody(req));
    } else if (req.method === 'POST' && url.pathname === '/renew-city-ca') {
      reply = await renewCityCa(anchor, req, await readBody(req));
    } else {
      throw new MeshError('NOT_IMPLEMENTED', `this anchor has no endpoint ${req.method} ${url.pathname}`, {
        details: { field: 'path' },
      });
    }
    res.writeHead(reply.status ?? 200, { 'content-type': reply.type, ...(reply.headers ?? {}) });
    res.end(reply.body);
  } catch (err) {
    const { status, internal, body } = httpError(err);
    if (internal) log.error({ err, path: url.pathname }, 'anchor request failed');
    else log.info({ event: 'request.refused', path: url.pathname, reason: body.reason }, body.error_description);
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
