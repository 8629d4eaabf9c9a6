// Side effect first: @peculiar/x509 (through tsyringe) throws at load without a Reflect metadata API.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

/**
 * @peculiar/x509 signs and verifies through a WebCrypto provider; Node's own
 * implementation is the only one citymesh uses. Setting it is idempotent, so every
 * module of this folder imports this one before touching @peculiar/x509.
 */
x509.cryptoProvider.set(webcrypto);

/** WebCrypto's SubtleCrypto, the one signing engine of this folder. */
export const subtle = webcrypto.subtle;

/** A WebCrypto key (`CryptoKey`): @types/node has no global for it without the DOM lib. */
export type CryptoKey = webcrypto.CryptoKey;

/** ECDSA P-256 with SHA-256 (`ES256`): the only algorithm citymesh certificates use. */
export const EC_KEY_ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256' } as const;

/** The signing algorithm passed to @peculiar/x509 generators. */
export const SIGNING_ALGORITHM = { name: 'ECDSA', hash: 'SHA-256' } as const;

export { x509 };
