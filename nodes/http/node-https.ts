import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { isMeshError } from '../../common/errors/index.js';
import { publicError } from '../../common/errors/public-error.js';
import type { NodeContext } from '../server/node-runtime.js';
import { cityEntityConfiguration } from './entity-configuration.js';

/** The node's HTTPS listener: the city's federation endpoints (the OIDC provider joins it later). */
export interface NodeHttps {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves `/.well-known/openid-federation` (the city's entity configuration, which the
 * anchor's resolve endpoint fetches), `/healthz` and, when given, the city's OpenID
 * Provider on every other path, over TLS with the node's SVID, renewed in place when the
 * SVID is.
 */
export async function startNodeHttps(
  context: NodeContext,
  host: string,
  port: number,
  /** The city's OpenID Provider: every path the federation endpoints do not answer. */
  oidc?: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<NodeHttps> {
  let identity: { certificate: Buffer; privateKey: Buffer } | undefined;
  await new Promise<void>((resolve) =>
    context.tls.addIdentityCertificateListener((update) => {
      if (update === null) return;
      const first = identity === undefined;
      identity = update;
      if (first) resolve();
      else server?.setSecureContext({ key: update.privateKey, cert: update.certificate });
    }),
  );
  let server: Server | undefined;
  server = createServer({ key: identity!.privateKey, cert: identity!.certificate }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (oidc && path !== FEDERATION_PATH && path !== '/healthz') oidc(req, res);
    else void handle(context, req, res);
  });
  const bound = await new Promise<number>((resolve, reject) => {
    server!.once('error', reject);
    server!.listen(port, host, () => resolve((server!.address() as AddressInfo).port));
  });
  return {
    port: bound,
    url: `https://${host === '127.0.0.1' ? 'localhost' : host}:${bound}`,
    close: () => new Promise((resolve) => server!.close(() => resolve())),
  };
}

const FEDERATION_PATH = '/.well-known/openid-federation';

async function handle(context: NodeContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://node.invalid');
  try {
    if (req.method !== 'GET') {
      reply(res, 405, 'application/json', JSON.stringify({ error: 'invalid_request', error_description: 'GET only' }));
      return;
    }
    if (url.pathname === FEDERATION_PATH) {
      const jwt = await cityEntityConfiguration(context.identity, context.stores.keys, context.clock);
      reply(res, 200, 'application/entity-statement+jwt', jwt);
    } else if (url.pathname === '/healthz') {
      const status = context.trust.status();
      reply(res, status.state === 'current' ? 200 : 503, 'application/json', JSON.stringify(status));
    } else {
      reply(
        res,
        404,
        'application/json',
        JSON.stringify({ error: 'not_found', error_description: `no ${url.pathname}` }),
      );
    }
  } catch (err) {
    const shown = publicError(err);
    if (!isMeshError(err)) context.log.error({ err, path: url.pathname }, 'https request failed');
    reply(
      res,
      500,
      'application/json',
      JSON.stringify({ error: 'server_error', error_description: shown.message, reason: shown.code }),
    );
  }
}

function reply(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  res.end(body);
}
