export { type ConfigIssue, formatConfigPath } from './config-issue.js';
export { type CrossFieldCheck, type CrossFieldViolation, crossFieldChecks } from './cross-field.js';
export { type DeepReadonly, deepFreeze } from './deep-freeze.js';
export { didYouMean, editDistance } from './did-you-mean.js';
export {
  cityField,
  clusterField,
  dataDirField,
  entityIdField,
  hostField,
  LOG_LEVELS,
  logLevelField,
  nodeNameField,
  portField,
  postgresUrlField,
} from './fields.js';
export { configIssuesOf, type LoadConfigOptions, loadConfig } from './load-config.js';
export {
  devDefaultsRefusedInProduction,
  httpsOnly,
  SERVICE_MODES,
  type ServiceMode,
  type ServiceModeFields,
  serviceModeShape,
} from './mode.js';
export { CONFIG_FILE_FORMATS, readConfigSource } from './read-config-source.js';
