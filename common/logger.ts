import { type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/** Options for {@link createLogger}. */
export interface LoggerInit {
  /** Component name, e.g. `anchor` or `node:beijing`. */
  name: string;
  /** pino level; `silent` in tests. Default `info`. */
  level?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Where JSON lines go. Default: stderr, so stdout stays for command output. */
  destination?: NodeJS.WritableStream;
}

/**
 * Structured JSON logs (one object per line, fields not interpolated strings). Secrets are
 * redacted by key so a careless `log.info({ token })` cannot leak a credential.
 */
export function createLogger(init: LoggerInit): Logger {
  return pino(
    {
      name: init.name,
      level: init.level ?? 'info',
      redact: {
        paths: [
          'token',
          'joinToken',
          'privateKey',
          'privateKeyPem',
          'password',
          'authorization',
          '*.token',
          '*.privateKeyPem',
        ],
        censor: '[redacted]',
      },
    },
    init.destination ?? process.stderr,
  );
}

/** A logger that drops everything, for tests and library callers that pass none. */
export const silentLogger: Logger = pino({ level: 'silent' });
