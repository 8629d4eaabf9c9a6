import { MeshError } from '../errors/mesh-error.js';

/** The decode half of a ts-proto message type (`X.decode`). */
export interface Decoder<T> {
  decode(input: Uint8Array): T;
}

/**
 * Decodes protobuf bytes into a message, turning the wire library's errors (truncated
 * input, invalid wire type, bad UTF-8 length) into MALFORMED_REQUEST naming the message.
 */
export function decodeMessage<T>(type: Decoder<T>, typeName: string, bytes: Uint8Array): T {
  try {
    return type.decode(bytes);
  } catch (cause) {
    const why = cause instanceof Error ? cause.message : String(cause);
    throw new MeshError('MALFORMED_REQUEST', `${typeName}: not a valid protobuf encoding (${why})`, {
      details: { message: typeName, rule: 'protobuf wire format' },
      cause,
    });
  }
}
