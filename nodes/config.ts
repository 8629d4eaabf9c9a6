import { z } from 'zod';
import { type CrossFieldCheck, crossFieldChecks } from '../common/config/cross-field.js';
import type { DeepReadonly } from '../common/config/deep-freeze.js';
import {
  cityField,
  clusterField,
  dataDirField,
  entityIdField,
  hostField,
  logLevelField,
  nodeNameField,
  portField,
  postgresUrlField,
} from '../common/config/fields.js';
import { loadConfig } from '../common/config/load-config.js';
import { devDefaultsRefusedInProduction, httpsOnly, serviceModeShape } from '../common/config/mode.js';

/** Where a node keeps its state: embedded SQLite, or PostgreSQL in production. */
const storeSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('sqlite'), path: z.string().min(1) }).strict(),
  z.object({ kind: z.literal('postgres'), url: postgresUrlField }).strict(),
]);

const nodeSchema = z
  .object({
    cluster: clusterField,
    city: cityField,
    nodeName: nodeNameField,
    /** OpenID Federation entity id of this city node. */
    entityId: entityIdField,
    /** Entity id of the cluster's trust anchor, where metadata is pulled from. */
    anchorUrl: entityIdField,
    listen: z
      .object({
        host: hostField.default('127.0.0.1'),
        /** The mTLS gRPC port peers dial. */
        port: portField,
        /** The HTTPS port of the OIDC provider and federation endpoints. */
        httpsPort: portField,
      })
      .strict(),
    dataDir: dataDirField,
    store: storeSchema,
    logLevel: logLevelField,
  })
  .strict();

const fileSchema = z.object({ ...serviceModeShape, node: nodeSchema }).strict();

/** Named cross-field checks of the node config, run after every field is valid. */
export const NODE_CONFIG_CHECKS: readonly CrossFieldCheck<z.output<typeof fileSchema>>[] = [
  devDefaultsRefusedInProduction,
  httpsOnly('entity-id-https', ['node', 'entityId'], (config) => config.node.entityId),
  httpsOnly('anchor-url-https', ['node', 'anchorUrl'], (config) => config.node.anchorUrl),
  {
    rule: 'distinct-ports',
    check: ({ node }) =>
      node.listen.port === node.listen.httpsPort
        ? [
            {
              path: ['node', 'listen', 'httpsPort'],
              message: `must differ from the gRPC port (both are ${node.listen.port})`,
            },
          ]
        : [],
  },
];

/** A city node's configuration file: `mode`, `allowInsecureDevDefaults`, `node`. */
export const nodeConfigSchema = fileSchema.superRefine(crossFieldChecks(NODE_CONFIG_CHECKS));

/** A validated, frozen node configuration. */
export type NodeConfig = DeepReadonly<z.output<typeof nodeConfigSchema>>;

/**
 * Loads and validates a city node's config from a YAML/JSON file or an object.
 *
 * @throws MeshError `INVALID_CONFIG` listing every issue
 */
export function loadNodeConfig(source: string | object): NodeConfig {
  return loadConfig(nodeConfigSchema, source, { service: 'node' });
}
