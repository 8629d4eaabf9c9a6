import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  addPerson,
  discover,
  PASSWORD,
  REDIRECT_URI,
  RESOURCE,
  registerApp,
  startCity,
  type TestCity,
  verifyAccessToken,
} from './harness.js';

/**
 * A person logs in through a registered app: openid-client builds the request and
 * redeems the code; the browser is played with plain HTTP requests (cookies by hand),
 * reading and posting the login and consent forms as a browser would.
 */

let city: TestCity;
let app: Awaited<ReturnType<typeof registerApp>>;

beforeAll(async () => {
  city = await startCity();
  app = await registerApp(city, { clientId: 'planner', login: true });
  await addPerson(city);
});

afterAll(async () => {
  await city.close();
});

/** A minimal browser: a cookie jar (name → value), manual redirects, same-origin form posts. */
class Browser {
  private readonly cookies = new Map<string, string>();
  constructor(private readonly city: TestCity) {}

  private remember(res: Response): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*expires=Thu, 01 Jan 1970/i.test(a) || /^\s*max-age=0\b/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  private header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async get(url: string | URL): Promise<Response> {
    const res = await this.city.fetch(new URL(url, this.city.issuer), {
      redirect: 'manual',
      headers: { cookie: this.header() },
    });
    this.remember(res);
    return res;
  }

  async post(path: string, form: Record<string, string>, origin = this.city.issuer): Promise<Response> {
    const res = await this.city.fetch(new URL(path, this.city.issuer), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: this.header(), origin, 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    this.remember(res);
    return res;
  }

  /** Follows redirects within the provider; stops at the first page, or at a redirect leaving it. */
  async follow(start: Response): Promise<{ res: Response; url: URL }> {
    let res = start;
    let url = new URL(this.city.issuer);
    while (res.status === 302 || res.status === 303) {
      url = new URL(res.headers.get('location')!, url);
      if (url.origin !== this.city.issuer) return { res, url };
      res = await this.get(url);
    }
    return { res, url };
  }
}

function formAction(html: string, name: string): string {
  const m = new RegExp(`action="(/interaction/[^"]+/${name})"`).exec(html);
  if (!m) throw new Error(`no ${name} form in:\n${html}`);
  return m[1]!;
}

async function startLogin(config: client.Configuration) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid citymesh datasets:read',
    resource: RESOURCE,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const browser = new Browser(city);
  const { res } = await browser.follow(await browser.get(url));
  return { browser, verifier, state, res, html: await res.text() };
}

describe('authorization code + PKCE through the login form', () => {
  it('logs in, consents, and the code redeems for an at+jwt with the person’s attributes', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const { browser, verifier, state, res, html } = await startLogin(config);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html).toContain('<html lang="en">');
    expect(html).toMatch(/<label for="username">Username<\/label>/);
    expect(html).toMatch(/<label for="password">Password<\/label>/);
    expect(html).not.toContain('<script');

    const loggedIn = await browser.post(formAction(html, 'login'), { username: 'Li.Wei', password: PASSWORD });
    expect(loggedIn.status).toBe(303);
    const consent = await browser.follow(loggedIn);
    const consentHtml = await consent.res.text();
    expect(consentHtml).toContain('Allow access?');
    expect(consentHtml).toContain(RESOURCE);

    const { url: callback } = await browser.follow(await browser.post(formAction(consentHtml, 'consent'), {}));
    expect(`${callback.origin}${callback.pathname}`).toBe(REDIRECT_URI);
    expect(callback.searchParams.get('iss')).toBe(city.issuer);

    const tokens = await client.authorizationCodeGrant(config, callback, {
      pkceCodeVerifier: verifier,
      expectedState: state,
    });
    const { payload, protectedHeader } = await verifyAccessToken(city, tokens.access_token);
    expect(protectedHeader).toMatchObject({ alg: 'ES256', typ: 'at+jwt' });
    expect(payload).toMatchObject({
      aud: RESOURCE,
      client_id: 'planner',
      scope: 'datasets:read',
      org: 'data-office',
      industry: 'government',
      region: '110105',
      level: 'district',
      roles: ['analyst', 'data-steward'],
      city: 'beijing',
    });
    const account = await city.store.accountByUsername('li.wei');
    expect(payload.sub).toBe(account!.accountId);
    const idToken = tokens.claims()!;
    expect(idToken).toMatchObject({ iss: city.issuer, aud: 'planner', sub: account!.accountId, org: 'data-office' });
    expect(decodeJwt(tokens.id_token!)).toBeTruthy();

    // Refresh rotation: each refresh token works once; a replayed one is refused.
    const first = tokens.refresh_token!;
    expect(first).toBeTruthy();
    const refreshed = await client.refreshTokenGrant(config, first);
    expect(refreshed.refresh_token).toBeTruthy();
    expect(refreshed.refresh_token).not.toBe(first);
    const again = await verifyAccessToken(city, refreshed.access_token);
    expect(again.payload['aud']).toBe(RESOURCE);
    await expect(client.refreshTokenGrant(config, first)).rejects.toMatchObject({ error: 'invalid_grant' });
  });

  it('says the same thing for a wrong password and an unknown user, and lets the person retry', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const { browser, html } = await startLogin(config);
    const action = formAction(html, 'login');
    const wrong = await browser.post(action, { username: 'li.wei', password: 'not the password' });
    const unknown = await browser.post(action, { username: 'nobody', password: 'not the password' });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    const [wrongHtml, unknownHtml] = [await wrong.text(), await unknown.text()];
    expect(wrongHtml).toContain('role="alert"');
    expect(wrongHtml).toContain('The username or password is not correct.');
    expect(unknownHtml.replace('nobody', 'li.wei')).toBe(wrongHtml);
    const ok = await browser.post(action, { username: 'li.wei', password: PASSWORD });
    expect(ok.status).toBe(303);
  });

  it('locks a username after 5 failed sign-ins, saying nothing about whether it exists', async () => {
    await addPerson(city, 'zhang.min');
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const { browser, html } = await startLogin(config);
    const action = formAction(html, 'login');
    for (const username of ['zhang.min', 'ghost.user']) {
      for (let i = 0; i < 5; i++) {
        expect((await browser.post(action, { username, password: `guess ${i}` })).status).toBe(401);
      }
    }
    // Locked: even the right password is not checked, and an unknown name reads the same.
    const locked = await browser.post(action, { username: 'Zhang.Min', password: PASSWORD });
    const ghost = await browser.post(action, { username: 'ghost.user', password: PASSWORD });
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(800);
    const [lockedHtml, ghostHtml] = [await locked.text(), await ghost.text()];
    expect(lockedHtml).toContain('Too many failed sign-ins. Try again in 15 minutes.');
    expect(ghostHtml.replace('ghost.user', 'Zhang.Min')).toBe(lockedHtml);
    // Other people are not locked out by it.
    expect((await browser.post(action, { username: 'li.wei', password: PASSWORD })).status).toBe(303);
  });

  it('refuses a cross-site form post and a post without the interaction cookie', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const { browser, html } = await startLogin(config);
    const action = formAction(html, 'login');
    const crossSite = await browser.post(action, { username: 'li.wei', password: PASSWORD }, 'https://evil.example');
    expect(crossSite.status).toBe(403);
    const stranger = new Browser(city);
    const noCookie = await stranger.post(action, { username: 'li.wei', password: PASSWORD });
    expect(noCookie.status).toBe(400);
  });

  it('refuses an authorization request without PKCE', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      resource: RESOURCE,
      state: client.randomState(),
    });
    const res = await new Browser(city).get(url);
    expect(res.status).toBe(303);
    const location = new URL(res.headers.get('location')!);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('cancelling returns access_denied to the app', async () => {
    const config = await discover(city, 'planner', app.privateKey, 'es256-1');
    const { browser, html } = await startLogin(config);
    const { url } = await browser.follow(await browser.post(formAction(html, 'abort'), {}));
    expect(url.searchParams.get('error')).toBe('access_denied');
  });
});
