import { resolve } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import type { Command } from 'commander';
import { fromServiceError } from '../../common/errors/grpc.js';
import { type AppClients, connectApp, unaryCall } from '../../nodes/apps/app-client.js';
import type { InvokeCapabilityResponse } from '../../proto/gen/citymesh/v1/capability_service.js';
import type { SearchCatalogResponse } from '../../proto/gen/citymesh/v1/catalog_service.js';
import { CatalogEntry, Receipt } from '../../proto/gen/citymesh/v1/common.js';
import type { FetchRecordsResponse, StreamRecordsResponse } from '../../proto/gen/citymesh/v1/dataset_service.js';
import { type CliIo, printJson } from '../io.js';

const call = unaryCall;

async function withApp<T>(appDir: string, work: (app: AppClients) => Promise<T>): Promise<T> {
  const app = connectApp(resolve(appDir));
  try {
    return await work(app);
  } finally {
    app.close();
  }
}

/** `citymesh client ...`: call the mesh as an app, through the app's home node. */
export function registerClientCommands(program: Command, io: CliIo): void {
  const client = program
    .command('client')
    .description('call the mesh as an app (credentials from `citymesh apps add`)');
  const app = (c: Command) => c.requiredOption('--app <dir>', "the app's credentials folder");

  app(client.command('status'))
    .description("the home node's status")
    .action((opts: { app: string }) =>
      withApp(opts.app, async (a) => printJson(io, await call((cb) => a.node.getNodeStatus({}, cb)))),
    );

  app(client.command('search'))
    .description('search the catalog of every city of the cluster')
    .argument('[query]', 'words in the title or description', '')
    .option('--industry <industry>', 'only this industry', '')
    .action((query: string, opts: { app: string; industry: string }) =>
      withApp(opts.app, async (a) => {
        const res = await call<SearchCatalogResponse>((cb) =>
          a.catalog.searchCatalog(
            {
              query,
              kind: 0,
              industry: opts.industry,
              regionCode: '',
              maxClassification: 0,
              cities: [],
              pageSize: 1000,
              pageToken: '',
            },
            cb,
          ),
        );
        printJson(io, {
          answeredCities: res.answeredCities,
          unansweredCities: res.unansweredCities,
          entries: res.entries.map((e) => CatalogEntry.toJSON(e)),
        });
      }),
    );

  app(client.command('fetch'))
    .description('fetch a page of records of any city’s dataset, with the provider’s receipt')
    .argument('<dataset>', 'dataset id <cluster>/<city>/<org>/<name>')
    .requiredOption('--purpose <purpose>', 'why the data is wanted')
    .option('--agreement <id>', 'access agreement the request relies on', '')
    .option('--after <sequence>', 'records after this sequence', (v) => Number.parseInt(v, 10), 0)
    .option('--limit <n>', 'records per page', (v) => Number.parseInt(v, 10), 100)
    .action(
      (dataset: string, opts: { app: string; purpose: string; agreement: string; after: number; limit: number }) =>
        withApp(opts.app, async (a) => {
          const res = await call<FetchRecordsResponse>((cb) =>
            a.datasets.fetchRecords(
              {
                datasetId: dataset,
                purpose: opts.purpose,
                afterSequence: opts.after,
                agreementId: opts.agreement,
                pageSize: opts.limit,
                pageToken: '',
              },
              cb,
            ),
          );
          printJson(io, {
            records: res.records.map((r) => ({
              sequence: r.sequence,
              recordId: r.recordId,
              ...{ record: JSON.parse(r.json.toString()) },
            })),
            nextPageToken: res.nextPageToken,
            receipt: res.receipt ? Receipt.toJSON(res.receipt) : undefined,
          });
        }),
    );

  app(client.command('stream'))
    .description('stream a dataset as NDJSON records, then the receipt on stderr')
    .argument('<dataset>', 'dataset id')
    .requiredOption('--purpose <purpose>', 'why the data is wanted')
    .option('--agreement <id>', 'access agreement the request relies on', '')
    .action((dataset: string, opts: { app: string; purpose: string; agreement: string }) =>
      withApp(opts.app, async (a) => {
        const stream = a.datasets.streamRecords({
          datasetId: dataset,
          purpose: opts.purpose,
          afterSequence: 0,
          agreementId: opts.agreement,
          maxRecords: 0,
          batchSize: 0,
        });
        try {
          for await (const message of stream as AsyncIterable<StreamRecordsResponse>) {
            if (message.item?.$case === 'batch') {
              for (const r of message.item.batch.records) io.out(`${r.json.toString()}\n`);
            } else if (message.item?.$case === 'receipt') {
              io.err(`${JSON.stringify(Receipt.toJSON(message.item.receipt))}\n`);
            }
          }
        } catch (err) {
          throw fromServiceError(err as grpc.ServiceError);
        }
      }),
    );

  app(client.command('invoke'))
    .description("invoke a city's capability with a JSON input")
    .argument('<capability>', 'capability id')
    .requiredOption('--purpose <purpose>', 'why it is invoked')
    .option('--input <json>', 'the request', '{}')
    .action((capability: string, opts: { app: string; purpose: string; input: string }) =>
      withApp(opts.app, async (a) => {
        const res = await call<InvokeCapabilityResponse>((cb) =>
          a.capabilities.invokeCapability(
            {
              capabilityId: capability,
              method: '',
              input: Buffer.from(opts.input),
              purpose: opts.purpose,
              agreementId: '',
            },
            cb,
          ),
        );
        printJson(io, {
          output: JSON.parse(res.output.toString()),
          receipt: res.receipt ? Receipt.toJSON(res.receipt) : undefined,
        });
      }),
    );
}
