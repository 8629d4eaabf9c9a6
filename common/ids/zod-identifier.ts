import { z } from 'zod';
import { isMeshError } from '../errors/mesh-error.js';

/**
 * A zod schema backed by one of the identifier parsers, so configs and data files apply
 * exactly the rules the parsers do (one definition of each rule). The parser's message
 * becomes the issue message and its `details.rule` the issue's `params.rule`.
 */
export function zodIdentifier<T>(parse: (input: unknown) => T) {
  return z.string().transform((value, ctx): T => {
    try {
      return parse(value);
    } catch (err) {
      if (!isMeshError(err)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message, params: { rule: err.details.rule } });
      return z.NEVER;
    }
  });
}
