export { CITY_NAME_PATTERN, type CityName, isCityName, parseCityName } from './city.js';
export { CLUSTER_NAME_PATTERN, type ClusterName, isClusterName, parseClusterName } from './cluster.js';
export {
  bundledClusterCatalog,
  type CityInfo,
  type ClusterCatalog,
  type ClusterInfo,
  type DistrictInfo,
  districtsOf,
  getCity,
  getCluster,
  listClusters,
  loadClusterCatalog,
} from './clusters.js';
export { DEVICE_ID_PATTERN, type DeviceId, isDeviceId, parseDeviceId } from './device-id.js';
export { identifierError } from './identifier-error.js';
export {
  getIndustry,
  INDUSTRIES,
  INDUSTRY_ID_PATTERN,
  type IndustryId,
  type IndustryInfo,
  isIndustry,
  parseIndustry,
} from './industry.js';
export {
  actsAsCity,
  ancestorsOf,
  CITIES_WITHOUT_DISTRICTS,
  contains,
  isMunicipality,
  isRegionCode,
  isSameOrBelow,
  isSpecialAdministrativeRegion,
  levelOf,
  MUNICIPALITY_CODES,
  NATIONAL_REGION,
  PROVINCE_PREFIXES,
  parentOf,
  parseRegionCode,
  type RegionCode,
  SAR_CODES,
} from './region.js';
export {
  compareRegionLevels,
  isLevelAtOrAbove,
  REGION_LEVEL_RANK,
  REGION_LEVELS,
  type RegionLevel,
} from './region-level.js';
export {
  type CapabilityId,
  type DatasetId,
  formatResourceId,
  parseResourceId,
  parseVersion,
  RESOURCE_SEGMENT_PATTERN,
  type ResourceId,
  type ResourceIdParts,
  VERSION_PATTERN,
  withoutVersion,
} from './resource-id.js';
export {
  formatSpiffeId,
  parseSpiffeId,
  SPIFFE_KINDS,
  type SpiffeId,
  type SpiffeIdParts,
  type SpiffeKind,
  spiffeIdOf,
} from './spiffe.js';
export {
  parseSpiffeUri,
  SPIFFE_ID_MAX_BYTES,
  SPIFFE_SCHEME_PREFIX,
  type SpiffeUri,
  TRUST_DOMAIN_MAX_BYTES,
} from './spiffe-uri.js';
export {
  MAX_SYNTHETIC_CHILDREN,
  type SyntheticRegion,
  syntheticCommunities,
  syntheticStreets,
} from './synthetic-regions.js';
export { formatTrustDomain, parseTrustDomain, TRUST_DOMAIN_SUFFIX, type TrustDomain } from './trust-domain.js';
export {
  CLIENT_ID_PATTERN,
  type ClientId,
  NODE_NAME_PATTERN,
  type NodeName,
  parseClientId,
  parseNodeName,
} from './workload-name.js';
export { zodIdentifier } from './zod-identifier.js';
