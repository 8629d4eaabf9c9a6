import * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { ERROR_REGISTRY } from '../../../common/errors/registry.js';
import { pageSize, requireString } from '../../../common/proto/index.js';
import type { CatalogEntry, CatalogFilter } from '../../../common/stores/index.js';
import type {
  CatalogServiceServer,
  CitySearchFailure,
  ListEntriesRequest,
  ListEntriesResponse,
  SearchCatalogRequest,
  SearchCatalogResponse,
} from '../../../proto/gen/citymesh/v1/catalog_service.js';
import type { CatalogEntry as ProtoCatalogEntry } from '../../../proto/gen/citymesh/v1/common.js';
import { ErrorReason } from '../../../proto/gen/citymesh/v1/errors.js';
import { CLASSIFICATION_RANK } from '../../policy/engine/index.js';
import { ownerCity } from '../exchange-core.js';
import { unary } from '../handler.js';
import type { NodeContext } from '../node-runtime.js';
import { classificationFromProto, entryToProto, kindFromProto } from './catalog-proto.js';
import { callPeer } from './peer-call.js';

/** How long a cluster-wide search waits for each city. */
export const SEARCH_DEADLINE_MS = 3000;
const SEARCH_MAX_PER_CITY = 200;

/**
 * CatalogService. Catalog entries describe what exists, not the data: any member node
 * and this city's apps may read them; records stay behind policy.
 */
export function catalogService(
  context: NodeContext,
): Pick<CatalogServiceServer, 'listEntries' | 'describeEntry' | 'searchCatalog'> {
  const own = context.identity.city;
  const toProto = (e: CatalogEntry) => entryToProto(e, context.identity.spiffeId, context.stores.records);
  const listLocal = async (request: ListEntriesRequest): Promise<ListEntriesResponse> => {
    const filter: CatalogFilter = {
      ...(kindFromProto(request.kind) ? { kind: kindFromProto(request.kind) } : {}),
      ...(request.industry ? { industry: request.industry } : {}),
      ...(request.regionCode ? { regionPrefix: request.regionCode } : {}),
    };
    const page = await context.stores.catalog.list(filter, {
      pageSize: pageSize('ListEntriesRequest', request.pageSize),
      ...(request.pageToken ? { pageToken: request.pageToken } : {}),
    });
    const entries = page.items.filter((e) => request.org === '' || e.ownerOrg === request.org);
    return { entries: await Promise.all(entries.map(toProto)), nextPageToken: page.nextPageToken ?? '' };
  };

  return {
    listEntries: unary(context, 'ListEntries', async (request: ListEntriesRequest) => listLocal(request)),

    describeEntry: unary(context, 'DescribeEntry', async (request, caller) => {
      const id = requireString('DescribeEntryRequest', 'id', request.id, 300);
      const city = ownerCity(id);
      if (city !== own) {
        if (caller.kind !== 'app') throw notHere(id, own);
        const peer = context.dialer.forCity(city);
        return callPeer(peer.catalog, peer.catalog.describeEntry, request, new grpc.Metadata());
      }
      const at = id.indexOf('@');
      const entry = await context.stores.catalog.get(
        at < 0 ? id : id.slice(0, at),
        at < 0 ? undefined : id.slice(at + 1),
      );
      if (entry === undefined) throw notHere(id, own);
      return { entry: await toProto(entry) };
    }),

    searchCatalog: unary(context, 'SearchCatalog', async (request: SearchCatalogRequest, caller) => {
      const members = context.trust.metadata.members;
      const revoked = new Set(context.trust.metadata.revocations.filter((r) => r.kind === 'city').map((r) => r.id));
      // A peer node searching asks each city itself; only this city's own apps fan out.
      const cities =
        caller.kind === 'node'
          ? [own]
          : members
              .map((m) => m.city)
              .filter((c) => !revoked.has(c) && (request.cities.length === 0 || request.cities.includes(c)));
      const list: ListEntriesRequest = {
        kind: request.kind,
        industry: request.industry,
        regionCode: request.regionCode,
        org: '',
        pageSize: SEARCH_MAX_PER_CITY,
        pageToken: '',
      };
      const answers = await Promise.allSettled(
        cities.map(async (city) => {
          if (city === own) return listLocal(list);
          const peer = context.dialer.forCity(city);
          return callPeer(peer.catalog, peer.catalog.listEntries, list, new grpc.Metadata(), SEARCH_DEADLINE_MS);
        }),
      );
      const entries: ProtoCatalogEntry[] = [];
      const answered: string[] = [];
      const unanswered: CitySearchFailure[] = [];
      answers.forEach((answer, i) => {
        const city = cities[i]!;
        if (answer.status === 'fulfilled') {
          answered.push(city);
          entries.push(...answer.value.entries.filter((e) => matches(e, request)));
        } else {
          const err = answer.reason instanceof MeshError ? answer.reason : fromUnknown(answer.reason);
          unanswered.push({
            city,
            reason: ErrorReason[`ERROR_REASON_${err.code}` as keyof typeof ErrorReason] ?? 0,
            message: err.message,
          });
        }
      });
      entries.sort((a, b) => a.id.localeCompare(b.id));
      const size = pageSize('SearchCatalogRequest', request.pageSize);
      const start = request.pageToken === '' ? 0 : Number.parseInt(request.pageToken, 10);
      if (!Number.isInteger(start) || start < 0) {
        throw new MeshError('INVALID_PAGE_TOKEN', 'page_token is not a token this node issued', {
          details: { field: 'page_token' },
        });
      }
      const response: SearchCatalogResponse = {
        entries: entries.slice(start, start + size),
        answeredCities: answered.sort(),
        unansweredCities: unanswered.sort((a, b) => a.city.localeCompare(b.city)),
        nextPageToken: start + size < entries.length ? String(start + size) : '',
      };
      return response;
    }),
  };
}

function matches(entry: ProtoCatalogEntry, request: SearchCatalogRequest): boolean {
  const query = request.query.trim().toLowerCase();
  if (query !== '' && !`${entry.title}\n${entry.description}\n${entry.id}`.toLowerCase().includes(query)) return false;
  const max = classificationFromProto(request.maxClassification);
  const own = classificationFromProto(entry.classification);
  if (max !== undefined && own !== undefined && CLASSIFICATION_RANK[own] > CLASSIFICATION_RANK[max]) return false;
  return entry.withdrawnAt === undefined;
}

function notHere(id: string, city: string): MeshError {
  return new MeshError('DATASET_NOT_FOUND', `${id} is not in the catalog of ${city}`, { details: { field: 'id' } });
}

function fromUnknown(err: unknown): MeshError {
  if (typeof err === 'object' && err !== null && 'code' in err && 'metadata' in err) {
    return fromServiceError(err as grpc.ServiceError);
  }
  return new MeshError('INTERNAL', ERROR_REGISTRY.INTERNAL.summary, { cause: err });
}
