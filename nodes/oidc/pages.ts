/**
 * The provider's own pages: plain HTML, no script, no external resources, labelled
 * fields, a `lang`, and errors announced with `role="alert"`, so they work with a screen
 * reader, a text browser, or `curl`. Every interpolated value goes through {@link esc}.
 */

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function page(title: string, city: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)} - ${esc(city)}</title>
</head>
<body>
<main>
<h1>${esc(title)}</h1>
${body}
</main>
</body>
</html>
`;
}

export interface LoginPage {
  readonly city: string;
  readonly uid: string;
  readonly clientId: string;
  readonly username?: string;
  readonly error?: string;
}

export function loginPage(p: LoginPage): string {
  const error = p.error ? `<p role="alert" id="login-error"><strong>${esc(p.error)}</strong></p>\n` : '';
  const described = p.error ? ' aria-describedby="login-error" aria-invalid="true"' : '';
  return page(
    `Sign in to ${p.city}`,
    p.city,
    `<p>The application <strong>${esc(p.clientId)}</strong> asks you to sign in with your ${esc(p.city)} account.</p>
${error}<form method="post" action="/interaction/${esc(p.uid)}/login">
<p><label for="username">Username</label><br>
<input id="username" name="username" type="text" autocomplete="username" required autofocus value="${esc(p.username ?? '')}"${described}></p>
<p><label for="password">Password</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required${described}></p>
<p><button type="submit">Sign in</button></p>
</form>
<form method="post" action="/interaction/${esc(p.uid)}/abort">
<p><button type="submit">Cancel and return to the application</button></p>
</form>`,
  );
}

export interface ConsentPage {
  readonly city: string;
  readonly uid: string;
  readonly clientId: string;
  readonly username: string;
  readonly scopes: readonly string[];
  readonly resources: Readonly<Record<string, readonly string[]>>;
}

export function consentPage(p: ConsentPage): string {
  const items = [
    ...p.scopes.map((s) => `<li>${esc(s)}</li>`),
    ...Object.entries(p.resources).map(
      ([resource, scopes]) => `<li>${esc(scopes.join(', ') || 'access')} at <code>${esc(resource)}</code></li>`,
    ),
  ];
  return page(
    'Allow access?',
    p.city,
    `<p>You are signed in as <strong>${esc(p.username)}</strong>.</p>
<p>The application <strong>${esc(p.clientId)}</strong> asks for:</p>
<ul>
${items.join('\n')}
</ul>
<p>It will see your organisation, industry, region, level and roles.</p>
<form method="post" action="/interaction/${esc(p.uid)}/consent">
<p><button type="submit">Allow</button></p>
</form>
<form method="post" action="/interaction/${esc(p.uid)}/abort">
<p><button type="submit">Deny</button></p>
</form>`,
  );
}

export function errorPage(city: string, title: string, message: string): string {
  return page(title, city, `<p role="alert">${esc(message)}</p>`);
}
