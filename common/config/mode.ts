import { z } from 'zod';
import type { CrossFieldCheck, CrossFieldViolation } from './cross-field.js';

/** How a service runs. Production is the default: insecure conveniences must be asked for. */
export const SERVICE_MODES = ['development', 'production'] as const;

/** One of {@link SERVICE_MODES}. */
export type ServiceMode = (typeof SERVICE_MODES)[number];

/**
 * The top-level fields every service config starts with. `allowInsecureDevDefaults`
 * turns on conveniences that are unsafe outside a developer's machine (for now: plain
 * `http` entity ids on loopback); it is refused in production.
 */
export const serviceModeShape = {
  mode: z.enum(SERVICE_MODES).default('production'),
  allowInsecureDevDefaults: z.boolean().default(false),
};

/** The part of a config that the mode checks read. */
export interface ServiceModeFields {
  readonly mode: ServiceMode;
  readonly allowInsecureDevDefaults: boolean;
}

/** Named check `dev-defaults-in-production`: production refuses `allowInsecureDevDefaults: true`. */
export const devDefaultsRefusedInProduction: CrossFieldCheck<ServiceModeFields> = {
  rule: 'dev-defaults-in-production',
  check: (config) =>
    config.mode === 'production' && config.allowInsecureDevDefaults
      ? [
          {
            path: ['allowInsecureDevDefaults'],
            message: 'is a development-only setting and is refused when mode is "production"',
          },
        ]
      : [],
};

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * A named check that a URL field uses `https`. Plain `http` is let through only for a
 * loopback host in development with `allowInsecureDevDefaults` on: trust statements and
 * tokens travel over these URLs.
 */
export function httpsOnly<T extends ServiceModeFields>(
  rule: string,
  path: readonly PropertyKey[],
  urlOf: (config: T) => string,
): CrossFieldCheck<T> {
  return {
    rule,
    check: (config): CrossFieldViolation[] => {
      const url = new URL(urlOf(config));
      if (url.protocol === 'https:') return [];
      const development = config.mode === 'development' && config.allowInsecureDevDefaults;
      if (development && LOOPBACK_HOSTS.has(url.hostname)) return [];
      return [
        {
          path,
          message: 'must use https (http is accepted only for localhost with allowInsecureDevDefaults in development)',
        },
      ];
    },
  };
}
