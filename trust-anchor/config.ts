import { z } from 'zod';
import { type CrossFieldCheck, crossFieldChecks } from '../common/config/cross-field.js';
import type { DeepReadonly } from '../common/config/deep-freeze.js';
import { clusterField, dataDirField, entityIdField, hostField, portField } from '../common/config/fields.js';
import { loadConfig } from '../common/config/load-config.js';
import { devDefaultsRefusedInProduction, httpsOnly, serviceModeShape } from '../common/config/mode.js';

/** Default offline budget: nodes may serve on cached cluster metadata this long (24 h). */
export const DEFAULT_METADATA_LIFETIME_SECONDS = 24 * 60 * 60;
/** Default lifetime of node and city certificates (24 h): short-lived instead of CRLs. */
export const DEFAULT_CERTIFICATE_LIFETIME_HOURS = 24;
/** Longest certificate lifetime accepted (30 days). */
export const MAX_CERTIFICATE_LIFETIME_HOURS = 720;
/** Default lifetime of a city intermediate CA (renewed through the anchor). */
export const DEFAULT_CITY_CA_LIFETIME_HOURS = 7 * 24;
/** Longest city intermediate CA the anchor signs. */
export const MAX_CITY_CA_LIFETIME_HOURS = 365 * 24;
/** Default lifetime of a one-time join token (1 h). */
export const DEFAULT_JOIN_TOKEN_LIFETIME_SECONDS = 60 * 60;
/** Longest join token lifetime accepted (7 days): a token left lying around is a way in. */
export const MAX_JOIN_TOKEN_LIFETIME_SECONDS = 7 * 24 * 60 * 60;

const anchorSchema = z
  .object({
    /** The cluster this anchor is the root of trust for. */
    cluster: clusterField,
    /** OpenID Federation entity id of the anchor, also the base of its endpoints. */
    entityId: entityIdField,
    listen: z.object({ host: hostField.default('127.0.0.1'), port: portField }).strict(),
    /**
     * Where the anchor publishes on the cluster's gossip topics (TCP, on the listen host);
     * absent: it does not gossip and metadata carries no `gossip` claim. Its libp2p key
     * is the file `gossip-key` in the anchor folder.
     */
    gossip: z.object({ port: portField }).strict().optional(),
    /** Where the anchor keeps its keys and issued-state. */
    dataDir: dataDirField,
    /** The offline budget: `exp - iat` of signed cluster metadata. At least 60 s. */
    metadataLifetimeSeconds: z.number().int().min(60).default(DEFAULT_METADATA_LIFETIME_SECONDS),
    certificateLifetimeHours: z
      .number()
      .int()
      .min(1)
      .max(MAX_CERTIFICATE_LIFETIME_HOURS)
      .default(DEFAULT_CERTIFICATE_LIFETIME_HOURS),
    /** Lifetime of the city intermediate CAs; nodes issue their own certificates from them. */
    cityCaLifetimeHours: z
      .number()
      .int()
      .min(1)
      .max(MAX_CITY_CA_LIFETIME_HOURS)
      .default(DEFAULT_CITY_CA_LIFETIME_HOURS),
    joinTokenLifetimeSeconds: z
      .number()
      .int()
      .min(60)
      .max(MAX_JOIN_TOKEN_LIFETIME_SECONDS)
      .default(DEFAULT_JOIN_TOKEN_LIFETIME_SECONDS),
  })
  .strict();

const fileSchema = z.object({ ...serviceModeShape, anchor: anchorSchema }).strict();

/**
 * Named cross-field checks of the anchor config, run after every field is valid.
 * `offline-budget-within-city-ca-lifetime`: nodes renew their own certificates from their
 * city CA, but only the anchor renews a city CA; cached metadata outliving the city CA
 * would promise an offline budget the CA cannot keep.
 * `city-ca-outlives-certificates`: a city CA must be able to issue at least one full
 * node certificate.
 * `gossip-port-differs`: gossip listens on the same host as HTTPS, so not on its port.
 */
export const TRUST_ANCHOR_CONFIG_CHECKS: readonly CrossFieldCheck<z.output<typeof fileSchema>>[] = [
  devDefaultsRefusedInProduction,
  httpsOnly('entity-id-https', ['anchor', 'entityId'], (config) => config.anchor.entityId),
  {
    rule: 'offline-budget-within-city-ca-lifetime',
    check: ({ anchor }) =>
      anchor.metadataLifetimeSeconds > anchor.cityCaLifetimeHours * 3600
        ? [
            {
              path: ['anchor', 'metadataLifetimeSeconds'],
              message: `(${anchor.metadataLifetimeSeconds} s) must not exceed cityCaLifetimeHours (${anchor.cityCaLifetimeHours} h = ${anchor.cityCaLifetimeHours * 3600} s)`,
            },
          ]
        : [],
  },
  {
    rule: 'gossip-port-differs',
    check: ({ anchor }) =>
      anchor.gossip !== undefined && anchor.gossip.port === anchor.listen.port
        ? [{ path: ['anchor', 'gossip', 'port'], message: `(${anchor.gossip.port}) must differ from listen.port` }]
        : [],
  },
  {
    rule: 'city-ca-outlives-certificates',
    check: ({ anchor }) =>
      anchor.certificateLifetimeHours > anchor.cityCaLifetimeHours
        ? [
            {
              path: ['anchor', 'certificateLifetimeHours'],
              message: `(${anchor.certificateLifetimeHours} h) must not exceed cityCaLifetimeHours (${anchor.cityCaLifetimeHours} h)`,
            },
          ]
        : [],
  },
];

/** The trust anchor's configuration file: `mode`, `allowInsecureDevDefaults`, `anchor`. */
export const trustAnchorConfigSchema = fileSchema.superRefine(crossFieldChecks(TRUST_ANCHOR_CONFIG_CHECKS));

/** A validated, frozen trust anchor configuration. */
export type TrustAnchorConfig = DeepReadonly<z.output<typeof trustAnchorConfigSchema>>;

/**
 * Loads and validates the trust anchor's config from a YAML/JSON file or an object.
 *
 * @throws MeshError `INVALID_CONFIG` listing every issue
 */
export function loadTrustAnchorConfig(source: string | object): TrustAnchorConfig {
  return loadConfig(trustAnchorConfigSchema, source, { service: 'trust-anchor' });
}
