import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MeshError } from '../../common/errors/mesh-error.js';
import { REGION_LEVELS, type RegionLevel } from '../../common/ids/region-level.js';
import { writeFileAtomic } from '../trust/node-files.js';

/** The file, in the node folder, listing the apps registered with this node. */
export const APPS_FILE = 'apps.json';

/**
 * An app of this city and the attributes policy sees when it calls. Until the city's
 * OIDC provider issues tokens, apps authenticate with an X.509-SVID from the city CA
 * (`spiffe://<city>.<cluster>.citymesh/app/<clientId>`) and these attributes come from
 * here, never from the request.
 */
export interface RegisteredApp {
  readonly clientId: string;
  readonly org: string;
  readonly industry: string;
  readonly level: RegionLevel;
  readonly regionCode: string;
  readonly roles: readonly string[];
  readonly registeredAt: string;
  /** Set by `apps disable`: the app is refused at once, whatever its certificate says. */
  readonly disabledAt?: string;
}

const CLIENT_ID = /^[a-z0-9][a-z0-9-]{0,62}$/;

const appSchema = z
  .object({
    clientId: z.string().regex(CLIENT_ID),
    org: z.string().min(1).max(100),
    industry: z.string().min(1).max(64),
    level: z.enum(REGION_LEVELS),
    regionCode: z.string().regex(/^\d{6}(\d{3}(\d{3})?)?$/),
    roles: z.array(z.string().min(1).max(64)).max(32),
    registeredAt: z.string(),
    disabledAt: z.string().optional(),
  })
  .strict();

const fileSchema = z.object({ apps: z.array(appSchema) }).strict();

/** Reads the registry; an absent file is an empty registry. */
export function readApps(dir: string): RegisteredApp[] {
  const path = join(dir, APPS_FILE);
  if (!existsSync(path)) return [];
  const parsed = fileSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) {
    throw new MeshError('STORE_CORRUPTED', `${path} is not a valid app registry: ${parsed.error.issues[0]?.message}`, {
      details: { field: 'apps' },
    });
  }
  return parsed.data.apps;
}

/** Registers an app, or updates the attributes of one already registered. */
export function registerApp(
  dir: string,
  app: Omit<RegisteredApp, 'registeredAt' | 'disabledAt'>,
  at: Date,
): RegisteredApp {
  if (!CLIENT_ID.test(app.clientId)) {
    throw new MeshError('INVALID_IDENTIFIER', `client id "${app.clientId}" must be 1-63 of a-z, 0-9 and -`, {
      details: { field: 'clientId' },
    });
  }
  const record = appSchema.parse({ ...app, registeredAt: at.toISOString() }) as RegisteredApp;
  const apps = readApps(dir).filter((a) => a.clientId !== app.clientId);
  apps.push(record);
  apps.sort((a, b) => a.clientId.localeCompare(b.clientId));
  writeFileAtomic(join(dir, APPS_FILE), `${JSON.stringify({ apps }, null, 2)}\n`);
  return record;
}

/** Disables an app: its calls are refused from the next call on. */
export function disableApp(dir: string, clientId: string, at: Date): void {
  const apps = readApps(dir);
  const app = apps.find((a) => a.clientId === clientId);
  if (app === undefined) {
    throw new MeshError('MEMBER_NOT_FOUND', `no app ${clientId} is registered with this node`, {
      details: { field: 'clientId' },
    });
  }
  const updated = apps.map((a) => (a.clientId === clientId ? { ...a, disabledAt: at.toISOString() } : a));
  writeFileAtomic(join(dir, APPS_FILE), `${JSON.stringify({ apps: updated }, null, 2)}\n`);
}
