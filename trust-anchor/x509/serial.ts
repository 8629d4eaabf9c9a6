import { webcrypto } from 'node:crypto';
import { MeshError } from '../../common/errors/mesh-error.js';

/** Serial numbers are 16 random bytes (RFC 5280 §4.1.2.2 allows up to 20 octets). */
export const SERIAL_BYTES = 16;

const HEX = /^[0-9a-f]+$/;

/**
 * A fresh random positive serial: 16 bytes, lowercase hex. The top bit is cleared (so the
 * DER INTEGER stays positive without a 0x00 pad) and the next one set (so the first
 * octet is never zero and the encoding is always minimal, 16 octets): 126 random bits.
 */
export function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(SERIAL_BYTES));
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return Buffer.from(bytes).toString('hex');
}

/**
 * The canonical spelling of a serial: lowercase hex without separators or leading zeros,
 * so `0A:1B`, `0a1b` and `A1B` compare equal. Node prints serials in uppercase,
 * @peculiar/x509 in lowercase: compare only canonical forms.
 *
 * @throws MeshError `MALFORMED_REQUEST` when the value is not a hex serial
 */
export function canonicalSerial(serial: string, field = 'serial'): string {
  const hex = typeof serial === 'string' ? serial.replaceAll(':', '').toLowerCase() : '';
  if (!HEX.test(hex) || hex.length > 2 * 20) {
    throw new MeshError('MALFORMED_REQUEST', `${field} must be a hexadecimal serial of at most 20 octets`, {
      details: { field, rule: 'serial' },
    });
  }
  const trimmed = hex.replace(/^0+/, '');
  if (trimmed === '') {
    throw new MeshError('MALFORMED_REQUEST', `${field} must be positive (RFC 5280 §4.1.2.2)`, {
      details: { field, rule: 'serial' },
    });
  }
  return trimmed;
}
