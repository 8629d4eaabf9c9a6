export {
  DEFAULT_MIN_TYPES_PER_INDUSTRY,
  defaultTaxonomy,
  deferredTaxonomy,
  type LoadTaxonomyOptions,
  loadTaxonomy,
  type TaxonomyIssue,
} from './loader.js';
export {
  type BooleanField,
  CATALOGUES,
  type Catalogue,
  DEFAULT_STRING_MAX_LENGTH,
  DEVICE_TYPE_ID_PATTERN,
  type DeviceType,
  type EnumField,
  FIELD_NAME_PATTERN,
  FIELD_TYPES,
  type FieldType,
  type NumericField,
  REF_PATTERNS,
  type SourceRef,
  type StringField,
  type TelemetryField,
} from './schema.js';
export { buildTaxonomy, type Taxonomy } from './taxonomy.js';
export {
  compileTelemetryValidator,
  type TelemetryResult,
  type TelemetryValidator,
  type TelemetryValue,
  telemetryValidatorOf,
  validateTelemetry,
} from './telemetry.js';
export { isKnownUnit, UNITS } from './units.js';
