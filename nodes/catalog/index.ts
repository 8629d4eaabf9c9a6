/**
 * The catalog of a city node: manifests a data office publishes (datasets and
 * capabilities), and the node-local backends that serve its capabilities.
 *
 * @packageDocumentation
 */
export { BACKENDS_FILE, type BackendRecord, type BackendSpec, CapabilityBackends } from './backend-registry.js';
export { BUILTIN_HANDLERS, type BuiltinContext, type BuiltinHandler } from './builtins/index.js';
export {
  createBackendInvoker,
  DEFAULT_MAX_REQUEST_BYTES,
  type InvokeBackend,
  type InvokeComponents,
  invokeBackend,
} from './invoke-backend.js';
export { type ManifestTarget, type ParsedManifest, type PublishableEntry, parseManifest } from './manifest.js';
export { manifestError, manifestIssuesOf } from './manifest-error.js';
export {
  MANIFEST_VERSION,
  type ManifestCapability,
  type ManifestDataset,
  type ManifestDocument,
  type ManifestInput,
  manifestSchema,
  UPSTREAM_LIMITS,
} from './manifest-schema.js';
export { readNodeCity } from './node-city.js';
export { type PublishComponents, type PublishedEntry, type PublishResult, publishManifest } from './publish.js';
