import type * as grpc from '@grpc/grpc-js';
import { fromServiceError } from '../../../common/errors/grpc.js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { requireString } from '../../../common/proto/index.js';
import type { DatasetRecord } from '../../../common/stores/index.js';
import type { Record as ProtoRecord } from '../../../proto/gen/citymesh/v1/common.js';
import {
  type DatasetServiceServer,
  FetchRecordsRequest,
  FetchRecordsResponse,
  RecordBatch,
  StreamRecordsRequest,
  type StreamRecordsResponse,
} from '../../../proto/gen/citymesh/v1/dataset_service.js';
import {
  acceptReceipt,
  authorizeExchange,
  type ExchangeDeps,
  forward,
  forwardUnary,
  ownerCity,
  serveReceipt,
  sha256Hex,
} from '../exchange-core.js';
import { serverStream, unary, writeWithBackpressure } from '../handler.js';
import { importService } from './import-service.js';
import { callPeer } from './peer-call.js';

const DEFAULT_PAGE = 500;
const MAX_PAGE = 5000;

function toProto(record: DatasetRecord): ProtoRecord {
  return { recordId: record.recordId ?? '', sequence: record.sequence, json: Buffer.from(record.json) };
}

function limitOf(value: number, field: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new MeshError('MALFORMED_REQUEST', `${field} must be 0 or a positive integer`, { details: { field } });
  }
  return value === 0 ? DEFAULT_PAGE : Math.min(value, MAX_PAGE);
}

function afterOf(request: { afterSequence: number; pageToken?: string }): number {
  if (request.pageToken === undefined || request.pageToken === '') return request.afterSequence;
  if (!/^\d{1,15}$/.test(request.pageToken)) {
    throw new MeshError('INVALID_PAGE_TOKEN', 'page_token is not a token this node issued', {
      details: { field: 'page_token' },
    });
  }
  return Number(request.pageToken);
}

/** The digest of a stream: over the digests of its batches, in order. */
export function streamDigest(batchDigests: readonly string[]): string {
  return sha256Hex({ batches: batchDigests });
}

/** DatasetService: fetch and stream, served here or forwarded to the owning city; import here. */
export function datasetService(
  deps: ExchangeDeps,
): Pick<DatasetServiceServer, 'fetchRecords' | 'streamRecords' | 'importRecords'> {
  const { context } = deps;
  const own = context.identity.city;
  return {
    ...importService(deps),
    fetchRecords: unary(context, 'FetchRecords', async (request: FetchRecordsRequest, caller, call) => {
      requireString('FetchRecordsRequest', 'dataset_id', request.datasetId, 300);
      const requestJson = FetchRecordsRequest.toJSON(request);
      if (caller.kind === 'app' && ownerCity(request.datasetId) !== own) {
        return forwardUnary(
          deps,
          caller,
          {
            resource: request.datasetId,
            action: 'read',
            purpose: request.purpose,
            method: 'FetchRecords',
            requestJson,
          },
          (peer, metadata) => callPeer(peer.datasets, peer.datasets.fetchRecords, request, metadata),
          FetchRecordsResponse.toJSON,
        );
      }
      const authorized = await authorizeExchange(deps, call, caller, {
        resource: request.datasetId,
        action: 'read',
        purpose: request.purpose,
        agreementId: request.agreementId,
        method: 'FetchRecords',
      });
      const page = await context.stores.records.page(authorized.entry.id, {
        afterSequence: afterOf(request),
        limit: limitOf(request.pageSize, 'page_size'),
      });
      const response: FetchRecordsResponse = {
        records: page.items.map(toProto),
        nextPageToken: page.nextAfterSequence === undefined ? '' : String(page.nextAfterSequence),
        receipt: undefined,
      };
      const bare = FetchRecordsResponse.toJSON(response);
      response.receipt = await serveReceipt(deps, authorized, 'FetchRecords', requestJson, bare);
      return response;
    }),

    streamRecords: serverStream(context, 'StreamRecords', async (request: StreamRecordsRequest, caller, call) => {
      requireString('StreamRecordsRequest', 'dataset_id', request.datasetId, 300);
      const requestJson = StreamRecordsRequest.toJSON(request);
      if (caller.kind === 'app' && ownerCity(request.datasetId) !== own) {
        await relayStream(deps, caller, request, requestJson, call);
        return;
      }
      const authorized = await authorizeExchange(deps, call, caller, {
        resource: request.datasetId,
        action: 'read',
        purpose: request.purpose,
        agreementId: request.agreementId,
        method: 'StreamRecords',
      });
      const batchSize = limitOf(request.batchSize, 'batch_size');
      const max = request.maxRecords === 0 ? Number.POSITIVE_INFINITY : request.maxRecords;
      const digests: string[] = [];
      let after = request.afterSequence;
      let sent = 0;
      while (sent < max && !call.cancelled) {
        const page = await context.stores.records.page(authorized.entry.id, {
          afterSequence: after,
          limit: Math.min(batchSize, max - sent),
        });
        if (page.items.length === 0) break;
        const batch: RecordBatch = { records: page.items.map(toProto) };
        digests.push(sha256Hex(RecordBatch.toJSON(batch)));
        await writeWithBackpressure(call, { item: { $case: 'batch', batch } });
        sent += page.items.length;
        after = page.items.at(-1)!.sequence;
        if (page.nextAfterSequence === undefined) break;
      }
      if (call.cancelled) return;
      const receipt = await serveReceipt(deps, authorized, 'StreamRecords', requestJson, {
        digest: streamDigest(digests),
      });
      await writeWithBackpressure(call, { item: { $case: 'receipt', receipt } });
    }),
  };
}

/**
 * Home side of a stream: passes the provider's batches on as they come (the app's pace
 * sets the pace: reading waits while the app's buffer is full), then checks the
 * receipt over everything relayed before handing it on.
 */
async function relayStream(
  deps: ExchangeDeps,
  caller: Parameters<typeof forward>[1],
  request: StreamRecordsRequest,
  requestJson: unknown,
  call: grpc.ServerWritableStream<StreamRecordsRequest, StreamRecordsResponse>,
): Promise<void> {
  const forwarded = await forward(deps, caller, {
    resource: request.datasetId,
    action: 'read',
    purpose: request.purpose,
  });
  const upstream = forwarded.peer.datasets.streamRecords(request, forwarded.metadata);
  call.on('cancelled', () => upstream.cancel());
  const digests: string[] = [];
  try {
    for await (const message of upstream as AsyncIterable<StreamRecordsResponse>) {
      const item = message.item;
      if (item?.$case === 'batch') {
        digests.push(sha256Hex(RecordBatch.toJSON(item.batch)));
        await writeWithBackpressure(call, message);
      } else if (item?.$case === 'receipt') {
        await acceptReceipt(
          deps,
          forwarded,
          caller,
          'StreamRecords',
          requestJson,
          { digest: streamDigest(digests) },
          item.receipt,
        );
        await writeWithBackpressure(call, message);
        return;
      }
    }
  } catch (err) {
    throw isServiceError(err) ? fromServiceError(err) : err;
  }
  throw new MeshError('PEER_UNAVAILABLE', `${forwarded.peer.node.spiffe_id} ended the stream without a receipt`, {
    details: { rule: 'stream-incomplete' },
  });
}

function isServiceError(err: unknown): err is grpc.ServiceError {
  return typeof err === 'object' && err !== null && 'code' in err && 'metadata' in err;
}
