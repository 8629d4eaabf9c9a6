// Static imports make tsc copy the data files to dist/, as for common/data/clusters.json;
// a test checks this list against the files in data/. The loader reads the copies from
// disk; nothing imports this module at run time, so the raw documents are not held.
import educationFile from './data/education.json' with { type: 'json' };
import elderlyCareFile from './data/elderly-care.json' with { type: 'json' };
import energyFile from './data/energy.json' with { type: 'json' };
import environmentFile from './data/environment.json' with { type: 'json' };
import governmentServicesFile from './data/government-services.json' with { type: 'json' };
import healthFile from './data/health.json' with { type: 'json' };
import logisticsFile from './data/logistics.json' with { type: 'json' };
import publicManagementFile from './data/public-management.json' with { type: 'json' };
import publicSafetyFile from './data/public-safety.json' with { type: 'json' };
import publicServicesFile from './data/public-services.json' with { type: 'json' };
import tourismFile from './data/tourism.json' with { type: 'json' };
import transportFile from './data/transport.json' with { type: 'json' };

/** The taxonomy files shipped with citymesh, by file name. */
export const BUNDLED_TAXONOMY_FILES: Readonly<Record<string, unknown>> = Object.freeze({
  'education.json': educationFile,
  'elderly-care.json': elderlyCareFile,
  'energy.json': energyFile,
  'environment.json': environmentFile,
  'government-services.json': governmentServicesFile,
  'health.json': healthFile,
  'logistics.json': logisticsFile,
  'public-management.json': publicManagementFile,
  'public-safety.json': publicSafetyFile,
  'public-services.json': publicServicesFile,
  'tourism.json': tourismFile,
  'transport.json': transportFile,
});
