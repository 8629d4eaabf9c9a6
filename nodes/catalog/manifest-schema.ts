import { z } from 'zod';
import { cityField, clusterField } from '../../common/config/fields.js';
import { parseIndustry } from '../../common/ids/industry.js';
import { parseRegionCode } from '../../common/ids/region.js';
import { REGION_LEVELS } from '../../common/ids/region-level.js';
import { parseVersion, RESOURCE_SEGMENT_PATTERN } from '../../common/ids/resource-id.js';
import { zodIdentifier } from '../../common/ids/zod-identifier.js';

/** The manifest format version this build reads. */
export const MANIFEST_VERSION = 1;

/** Limits of an upstream HTTP backend, with the defaults a manifest may lower or raise. */
export const UPSTREAM_LIMITS = Object.freeze({
  timeoutMs: { min: 100, max: 60_000, default: 5_000 },
  maxResponseBytes: { min: 1, max: 16 * 1024 * 1024, default: 1024 * 1024 },
});

const segment = z.string().regex(RESOURCE_SEGMENT_PATTERN);

/** YAML reads an unquoted `110105` as a number; a region code is its digits either way. */
const regionCodeField = z.preprocess(
  (value) => (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value),
  zodIdentifier((input) => parseRegionCode(input, 'regionCode')),
);

const jsonSchemaField = z.record(z.string(), z.unknown());

const entryShape = {
  name: segment,
  ownerOrg: segment,
  version: zodIdentifier((input) => parseVersion(input)),
  title: z.string().trim().min(1),
  description: z.string().default(''),
  industry: zodIdentifier((input) => parseIndustry(input)),
  regionCode: regionCodeField,
  /** Optional: it follows from `regionCode`; when given, it must agree. */
  level: z.enum(REGION_LEVELS).optional(),
  classification: z.enum(['public', 'internal', 'sensitive', 'restricted']),
  /** SPDX identifier or URL. */
  license: z.string().trim().min(1),
  requiresAgreement: z.boolean().default(false),
};

const datasetSchema = z.object({ ...entryShape, schema: jsonSchemaField }).strict();

const backendSchema = z
  .object({
    /** A built-in handler by name. */
    builtin: z.string().min(1).optional(),
    /** For built-ins that read a dataset of this city: `<org>/<name>`. */
    dataset: z.string().min(1).optional(),
    /** An upstream HTTP(S) endpoint the node POSTs the request JSON to. Node-local: never published. */
    url: z.string().min(1).optional(),
    timeoutMs: z.number().int().min(UPSTREAM_LIMITS.timeoutMs.min).max(UPSTREAM_LIMITS.timeoutMs.max).optional(),
    maxResponseBytes: z
      .number()
      .int()
      .min(UPSTREAM_LIMITS.maxResponseBytes.min)
      .max(UPSTREAM_LIMITS.maxResponseBytes.max)
      .optional(),
  })
  .strict();

const capabilitySchema = z
  .object({ ...entryShape, schema: jsonSchemaField.optional(), backend: backendSchema })
  .strict();

/** A catalog manifest as written by a city data office (YAML or JSON). */
export const manifestSchema = z
  .object({
    manifestVersion: z.literal(MANIFEST_VERSION),
    cluster: clusterField,
    city: cityField,
    datasets: z.array(datasetSchema).default([]),
    capabilities: z.array(capabilitySchema).default([]),
  })
  .strict();

/** The manifest after its fields are checked one by one. */
export type ManifestDocument = z.output<typeof manifestSchema>;
export type ManifestDataset = ManifestDocument['datasets'][number];
export type ManifestCapability = ManifestDocument['capabilities'][number];

/** What a manifest is written as, before parsing (what sample generators build). */
export type ManifestInput = z.input<typeof manifestSchema>;
