import type { IncomingMessage, ServerResponse } from 'node:http';
import type Provider from 'oidc-provider';
import { errors } from 'oidc-provider';
import { authenticate } from './accounts.js';
import type { LoginThrottle } from './login-throttle.js';
import type { OidcStore } from './oidc-store.js';
import { consentPage, errorPage, loginPage } from './pages.js';

/** What the login and consent pages need from the provider. */
export interface InteractionContext {
  readonly provider: Provider;
  readonly store: OidcStore;
  readonly city: string;
  readonly issuer: string;
  /** Unexpected failures (not an expired or foreign interaction) are reported here. */
  readonly onError?: (err: unknown) => void;
  readonly throttle: LoginThrottle;
}

const PATH = /^\/interaction\/([A-Za-z0-9_-]{1,64})(?:\/(login|consent|abort))?$/;
const MAX_FORM_BYTES = 8 * 1024;
/** One message for every failed login: it never says whether the username exists. */
export const LOGIN_FAILED = 'The username or password is not correct.';
const EXPIRED =
  'This sign-in page has expired or was opened in another browser. Return to the application and start again.';

function send(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...headers,
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    // No script, style or frame is ever needed; forms post to this origin.
    'content-security-policy': "default-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

/**
 * Cross-site form posts are refused before anything else. The interaction cookie
 * (SameSite=Lax, signed, scoped to `/interaction/<uid>`) already keeps another site from
 * completing a victim's interaction; checking `Origin` and `Sec-Fetch-Site` where the
 * browser sends them is a second, independent check.
 */
function sameOrigin(req: IncomingMessage, issuer: string): boolean {
  const origin = req.headers.origin;
  if (origin !== undefined && origin !== new URL(issuer).origin) return false;
  const site = req.headers['sec-fetch-site'];
  return site === undefined || site === 'same-origin' || site === 'none';
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

type Details = Awaited<ReturnType<Provider['interactionDetails']>>;

async function showPrompt(ctx: InteractionContext, details: Details, res: ServerResponse): Promise<void> {
  const clientId = String(details.params['client_id'] ?? '');
  if (details.prompt.name === 'login') {
    send(res, 200, loginPage({ city: ctx.city, uid: details.uid, clientId }));
    return;
  }
  const account = details.session?.accountId ? await ctx.store.accountById(details.session.accountId) : undefined;
  const d = details.prompt.details as { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> };
  send(
    res,
    200,
    consentPage({
      city: ctx.city,
      uid: details.uid,
      clientId,
      username: account?.username ?? '',
      scopes: d.missingOIDCScope ?? [],
      resources: d.missingResourceScopes ?? {},
    }),
  );
}

async function login(
  ctx: InteractionContext,
  details: Details,
  form: URLSearchParams,
  req: IncomingMessage,
  res: ServerResponse,
) {
  const username = form.get('username') ?? '';
  const address = req.socket.remoteAddress ?? 'unknown';
  const clientId = String(details.params['client_id'] ?? '');
  const wait = await ctx.throttle.lockedFor(username, address);
  if (wait > 0) {
    const error = `Too many failed sign-ins. Try again in ${Math.ceil(wait / 60)} minute${wait > 60 ? 's' : ''}.`;
    send(res, 429, loginPage({ city: ctx.city, uid: details.uid, clientId, username, error }), {
      'retry-after': String(wait),
    });
    return;
  }
  const account = await authenticate(ctx.store, username, form.get('password') ?? '');
  if (account === undefined) {
    await ctx.throttle.failed(username, address);
    send(res, 401, loginPage({ city: ctx.city, uid: details.uid, clientId, username, error: LOGIN_FAILED }));
    return;
  }
  await ctx.throttle.succeeded(username);
  await ctx.provider.interactionFinished(
    req,
    res,
    { login: { accountId: account.accountId } },
    {
      mergeWithLastSubmission: false,
    },
  );
}

async function consent(ctx: InteractionContext, details: Details, req: IncomingMessage, res: ServerResponse) {
  const { provider } = ctx;
  const accountId = details.session?.accountId;
  const clientId = String(details.params['client_id']);
  const grant =
    (details.grantId ? await provider.Grant.find(details.grantId) : undefined) ??
    new provider.Grant({ accountId: accountId!, clientId });
  const d = details.prompt.details as {
    missingOIDCScope?: string[];
    missingOIDCClaims?: string[];
    missingResourceScopes?: Record<string, string[]>;
  };
  if (d.missingOIDCScope) grant.addOIDCScope(d.missingOIDCScope.join(' '));
  if (d.missingOIDCClaims) grant.addOIDCClaims(d.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(d.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  const grantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
}

/**
 * `GET /interaction/<uid>` shows the login or consent page; `POST .../login`,
 * `.../consent` and `.../abort` complete it. oidc-provider ties the uid to the browser's
 * interaction cookie, so a uid alone (from a log or a link) is worth nothing.
 */
export async function handleInteraction(ctx: InteractionContext, req: IncomingMessage, res: ServerResponse) {
  try {
    const m = PATH.exec(new URL(req.url ?? '/', 'https://node.invalid').pathname);
    if (!m) return send(res, 404, errorPage(ctx.city, 'Not found', 'There is no such page.'));
    const [, uid, action] = m;
    if (req.method !== (action === undefined ? 'GET' : 'POST')) {
      return send(res, 405, errorPage(ctx.city, 'Not allowed', 'This page does not accept that request.'));
    }
    if (action !== undefined && !sameOrigin(req, ctx.issuer)) {
      return send(res, 403, errorPage(ctx.city, 'Refused', 'Forms of this page must be sent from this page.'));
    }
    const form = action === undefined ? undefined : await readForm(req);
    if (action !== undefined && form === undefined) {
      return send(res, 400, errorPage(ctx.city, 'Bad request', 'The form could not be read.'));
    }
    const details = await ctx.provider.interactionDetails(req, res);
    if (details.uid !== uid) return send(res, 400, errorPage(ctx.city, 'Sign-in failed', EXPIRED));
    if (action === undefined) return await showPrompt(ctx, details, res);
    if (action === 'abort') {
      return await ctx.provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled' },
        { mergeWithLastSubmission: false },
      );
    }
    if (action !== details.prompt.name) return send(res, 400, errorPage(ctx.city, 'Sign-in failed', EXPIRED));
    if (action === 'login') return await login(ctx, details, form!, req, res);
    return await consent(ctx, details, req, res);
  } catch (err) {
    // Missing or foreign interaction cookie, expired interaction: nothing to resume.
    const expected = err instanceof errors.OIDCProviderError;
    if (!expected) ctx.onError?.(err);
    if (res.headersSent) res.end();
    else if (expected) send(res, 400, errorPage(ctx.city, 'Sign-in failed', EXPIRED));
    else send(res, 500, errorPage(ctx.city, 'Something went wrong', 'Please try again later.'));
  }
}
