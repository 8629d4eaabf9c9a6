import type * as grpc from '@grpc/grpc-js';
import { MeshError } from '../../../common/errors/mesh-error.js';
import { requireString } from '../../../common/proto/index.js';
import { ImportFormat } from '../../../proto/gen/citymesh/v1/common.js';
import type {
  DatasetServiceServer,
  ImportRecordsRequest,
  ImportRecordsResponse,
} from '../../../proto/gen/citymesh/v1/dataset_service.js';
import { type ImportFormat as FormatName, type ImportReport, importRecords } from '../../datasets/index.js';
import type { ExchangeDeps } from '../exchange-core.js';
import { ownerCity } from '../exchange-core.js';
import { clientStream } from '../handler.js';
import { requireAppRole } from '../roles.js';
import { reasonOf } from './audit-proto.js';

const FORMATS: ReadonlyMap<ImportFormat, FormatName> = new Map([
  [ImportFormat.IMPORT_FORMAT_NDJSON, 'ndjson'],
  [ImportFormat.IMPORT_FORMAT_CSV, 'csv'],
]);

type ImportCall = grpc.ServerReadableStream<ImportRecordsRequest, ImportRecordsResponse>;

function malformed(field: string, message: string): MeshError {
  return new MeshError('MALFORMED_REQUEST', `ImportRecordsRequest.${field}: ${message}`, {
    details: { message: 'ImportRecordsRequest', field },
  });
}

/** What the first message fixes for the whole stream. */
interface ImportHeader {
  readonly datasetId: string;
  readonly format: ImportFormat;
  readonly idField: string;
}

function headerOf(first: ImportRecordsRequest | undefined): ImportHeader {
  if (first === undefined) throw malformed('dataset_id', 'the stream ended before its first message');
  const datasetId = requireString('ImportRecordsRequest', 'dataset_id', first.datasetId, 300);
  if (!FORMATS.has(first.format)) throw malformed('format', 'must be IMPORT_FORMAT_NDJSON or IMPORT_FORMAT_CSV');
  // The protocol's default id field: with it a re-sent import is idempotent.
  return { datasetId, format: first.format, idField: first.idField === '' ? 'id' : first.idField };
}

/**
 * The lines of the stream as import text. Reading waits for the importer (the stream's
 * own flow control is the backpressure). Only a stream the client half-closed is a whole
 * input: a cancelled one throws, so the importer never writes a truncated file.
 */
async function* linesOf(
  first: ImportRecordsRequest,
  rest: AsyncIterator<ImportRecordsRequest>,
  header: ImportHeader,
  call: ImportCall,
  counter: { lines: number },
): AsyncGenerator<string> {
  let message: ImportRecordsRequest | undefined = first;
  let last = false;
  while (message !== undefined) {
    if (last) throw malformed('last', 'no message may follow the one marked last');
    last = message.last;
    if (message !== first) {
      if (message.datasetId !== '' && message.datasetId !== header.datasetId)
        throw malformed('dataset_id', 'must be empty or equal to the first message’s in every later message');
      if (message.format !== ImportFormat.IMPORT_FORMAT_UNSPECIFIED && message.format !== header.format)
        throw malformed('format', 'must be unspecified or equal to the first message’s in every later message');
    }
    for (const line of message.lines) {
      counter.lines++;
      // A terminator inside a line would shift every line number the report gives.
      if (/[\r\n]/.test(line)) throw malformed('lines', `line ${counter.lines} holds a line terminator`);
      yield `${line}\n`;
    }
    const next = await rest.next();
    message = next.done ? undefined : next.value;
  }
  // Only a stream whose final message says so is a whole input: a cancelled or broken
  // client never gets a truncated file imported.
  if (!last || call.cancelled) {
    throw new MeshError('MALFORMED_REQUEST', 'the import stream ended without its last message; nothing was written', {
      details: { message: 'ImportRecordsRequest', field: 'last', rule: 'incomplete' },
    });
  }
}

function responseOf(report: ImportReport, linesRead: number, highSequence: number): ImportRecordsResponse {
  return {
    linesRead,
    accepted: report.accepted,
    unchanged: report.unchanged,
    rejected: report.rejected,
    badLines: report.badRows.map((b) => ({ line: b.line, reason: reasonOf(b.reason), message: b.message })),
    highSequence,
  };
}

/**
 * DatasetService/ImportRecords: the data office of this city loads lines into one of this
 * city's datasets, all or nothing (`importRecords`), and the attempt is audited either way.
 */
export function importService(deps: ExchangeDeps): Pick<DatasetServiceServer, 'importRecords'> {
  const { context } = deps;
  const { identity, stores, clock } = context;
  return {
    importRecords: clientStream(context, 'ImportRecords', async (call: ImportCall, caller) => {
      const office = requireAppRole(caller, 'data-office', 'ImportRecords');
      const records = stores.records;
      const messages = call[Symbol.asyncIterator]() as AsyncIterator<ImportRecordsRequest>;
      const firstResult = await messages.next();
      const first = firstResult.done ? undefined : firstResult.value;
      const header = headerOf(first);
      // Checked before a line is read: a city's node never loads another city's data.
      if (ownerCity(header.datasetId) !== identity.city) {
        throw new MeshError(
          'ROLE_REQUIRED',
          `${header.datasetId} belongs to another city: only its own city's data office may import into it`,
          { details: { field: 'dataset_id', rule: 'own-city' } },
        );
      }
      const counter = { lines: 0 };
      const report = await importRecords(
        { catalog: stores.catalog, records, clock },
        {
          node: { cluster: identity.cluster, city: identity.city },
          datasetId: header.datasetId,
          format: FORMATS.get(header.format)!,
          idField: header.idField,
          source: linesOf(first!, messages, header, call, counter),
        },
      );
      const highSequence = report.lastSequence ?? (await stores.records.highSequence(report.datasetId));
      // Durable before the answer: the data office is told only what the log holds.
      await deps.audit.append({
        kind: report.imported ? 'dataset.imported' : 'dataset.import_rejected',
        actor: office.spiffeId,
        payload: {
          datasetId: report.datasetId,
          version: report.version,
          format: FORMATS.get(header.format)!,
          linesRead: counter.lines,
          rows: report.rows,
          accepted: report.accepted,
          unchanged: report.unchanged,
          rejected: report.rejected,
          ...(report.firstSequence === undefined ? {} : { firstSequence: report.firstSequence }),
          ...(report.lastSequence === undefined ? {} : { lastSequence: report.lastSequence }),
        },
      });
      return responseOf(report, counter.lines, highSequence);
    }),
  };
}
