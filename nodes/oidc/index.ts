/**
 * The city's OpenID Provider (issue 5): accounts, app registrations, the provider and
 * its login/consent pages. The node mounts `handler` on its HTTPS listener.
 *
 * @packageDocumentation
 */
export {
  authenticate,
  createAccount,
  MAX_PASSWORD_LENGTH,
  MIN_PASSWORD_LENGTH,
  normalizeUsername,
} from './accounts.js';
export { type AttributesInput, parseAttributes } from './attributes.js';
export { type ClientRegistration, providerMetadata, registerClient } from './clients.js';
export { DEFAULT_LOGIN_THROTTLE, LoginThrottle, type LoginThrottleOptions } from './login-throttle.js';
export { openMemoryOidcStore } from './memory-oidc-store.js';
export { openNodeOidcStore } from './node-store.js';
export type { AccountRecord, ClientRecord, OidcStore, SubjectAttributes } from './oidc-store.js';
export { hashPassword, SCRYPT_COST, verifyPassword } from './passwords.js';
export {
  type CityProvider,
  type CityProviderOptions,
  type CityResourceServer,
  createCityProvider,
  subjectClaims,
  TOKEN_TTL,
} from './provider.js';
export { oidcSigningJwks } from './signing-keys.js';
export { OIDC_SCHEMA_VERSION, openSqliteOidcStore } from './sqlite-oidc-store.js';
