import { z } from 'zod';
import type { IndustryId } from '../../../common/ids/industry.js';

/** The public catalogues a device type may derive from; `manufacturer` when none fits. */
export const CATALOGUES = ['fiware', 'onem2m-sdt', 'lwm2m', 'brick', 'iec-cim', 'saref', 'manufacturer'] as const;
export type Catalogue = (typeof CATALOGUES)[number];

/**
 * How each catalogue names its entries, so a reference is at least spelt the way its
 * catalogue spells names: FIWARE model `AirQualityObserved`, SDT class `deviceLight`,
 * LwM2M `3303 Temperature` (object id and registry name), Brick `PM2.5_Sensor`, CIM
 * `PowerTransformer`, SAREF `s4agri:WeatherStation`, and a manufacturer model family in words.
 */
export const REF_PATTERNS: Readonly<Record<Catalogue, RegExp>> = Object.freeze({
  fiware: /^[A-Z][A-Za-z0-9]{1,63}$/,
  'onem2m-sdt': /^device[A-Z][A-Za-z0-9]{1,63}$/,
  lwm2m: /^\d{1,5} \S.{0,63}$/,
  brick: /^[A-Z][A-Za-z0-9_.]{1,63}$/,
  'iec-cim': /^[A-Z][A-Za-z0-9]{1,63}$/,
  saref: /^(saref|s4[a-z]{4}):[A-Z][A-Za-z0-9]{1,63}$/,
  manufacturer: /^\S.{2,98}\S$/,
});

export const FIELD_TYPES = ['number', 'integer', 'boolean', 'string', 'enum'] as const;
export type FieldType = (typeof FIELD_TYPES)[number];

/** Device type ids: kebab-case, unique within an industry. */
export const DEVICE_TYPE_ID_PATTERN = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const DEVICE_TYPE_ID_MAX_LENGTH = 64;
/** Telemetry field names: camelCase, so they are safe object keys in every language. */
export const FIELD_NAME_PATTERN = /^[a-z][a-zA-Z0-9]{0,63}$/;
const ENUM_VALUE_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
/** Longest string reading accepted when a string field does not say. */
export const DEFAULT_STRING_MAX_LENGTH = 256;

export interface SourceRef {
  readonly catalogue: Catalogue;
  readonly ref: string;
}

interface FieldBase {
  readonly name: string;
  /** False when a reading may leave the field out; true unless the file says otherwise. */
  readonly required: boolean;
}
export interface NumericField extends FieldBase {
  readonly type: 'number' | 'integer';
  readonly unit: string;
  readonly min: number;
  readonly max: number;
}
export interface BooleanField extends FieldBase {
  readonly type: 'boolean';
}
export interface StringField extends FieldBase {
  readonly type: 'string';
  readonly maxLength: number;
}
export interface EnumField extends FieldBase {
  readonly type: 'enum';
  readonly values: readonly string[];
}
export type TelemetryField = NumericField | BooleanField | StringField | EnumField;

/** One device type of an industry's taxonomy, with the schema its telemetry must fit. */
export interface DeviceType {
  readonly industry: IndustryId;
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly source: SourceRef;
  readonly fields: readonly TelemetryField[];
}

const oneLine = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^\S(.*\S)?$/, 'must be one line without leading or trailing spaces');

const name = z.string().regex(FIELD_NAME_PATTERN);
const required = z.boolean().default(true);
const numeric = (type: 'number' | 'integer') =>
  z.strictObject({ name, type: z.literal(type), unit: z.string().min(1), min: z.number(), max: z.number(), required });

/** One telemetry field. */
export const fieldSchema = z.discriminatedUnion('type', [
  numeric('number'),
  numeric('integer'),
  z.strictObject({ name, type: z.literal('boolean'), required }),
  z.strictObject({
    name,
    type: z.literal('string'),
    maxLength: z.number().int().min(1).max(4096).default(DEFAULT_STRING_MAX_LENGTH),
    required,
  }),
  z.strictObject({
    name,
    type: z.literal('enum'),
    values: z.array(z.string().regex(ENUM_VALUE_PATTERN)).min(2).max(64),
    required,
  }),
]);

export type ParsedField = z.output<typeof fieldSchema>;

export const typeIdSchema = z.string().max(DEVICE_TYPE_ID_MAX_LENGTH).regex(DEVICE_TYPE_ID_PATTERN);
export const sourceSchema = z.strictObject({ catalogue: z.enum(CATALOGUES), ref: z.string().min(1) });

/** One entry of `types` in a taxonomy file. */
export const deviceTypeSchema = z.strictObject({
  id: typeIdSchema,
  name: oneLine(80),
  description: oneLine(200),
  source: sourceSchema,
  fields: z.array(fieldSchema).min(1).max(8),
});

/** A whole `<industry-id>.json` file. */
export const taxonomyFileSchema = z.strictObject({ types: z.array(deviceTypeSchema) });
