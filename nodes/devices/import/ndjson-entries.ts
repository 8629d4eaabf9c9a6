import { isAscii } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { DeviceFault } from '../registry/device-fault.js';

/**
 * One record of a manifest: the description parsed from its text, or why it could not be
 * parsed. `line` is where it starts (1-based) and `lastLine` where it ends: they differ
 * only for a CSV record with a quoted line break.
 */
export interface ManifestEntry {
  readonly line: number;
  readonly lastLine: number;
  readonly value: unknown;
  readonly fault: DeviceFault | undefined;
}

const OPEN_BRACE = 0x7b;
const BOM = '\uFEFF';

function entryOf(body: string, line: number): ManifestEntry | undefined {
  // Most lines start with `{`; only the others pay for the blank-line test.
  if (body.charCodeAt(0) !== OPEN_BRACE && body.trim() === '') return undefined;
  try {
    return { line, lastLine: line, value: JSON.parse(body), fault: undefined };
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    return {
      line,
      lastLine: line,
      value: undefined,
      fault: new DeviceFault('', 'MALFORMED_REQUEST', `not JSON: ${reason}`),
    };
  }
}

/** Entries per chunk: enough to make the awaits between chunks cheap, few enough that the parsed lines die young. */
const CHUNK_ENTRIES = 256;

/**
 * The records of an NDJSON manifest from line `skipLines + 1` on, in chunks of a few
 * hundred (a megabyte is read at a time, but parsing it all before the consumer checks
 * the first line would keep thousands of parsed objects alive across garbage collections:
 * measured, a fifth more CPU). Blank lines are skipped; they still count in the line
 * numbers. Lines up to `skipLines` are split but never parsed: a resume pays only for
 * finding line breaks.
 */
export async function* ndjsonEntries(path: string, skipLines = 0): AsyncGenerator<readonly ManifestEntry[]> {
  let rest = '';
  let line = 0;
  for await (const chunk of textChunks(path)) {
    const text = rest.length === 0 ? chunk : rest + chunk;
    let out: ManifestEntry[] = [];
    let start = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', start)) {
      line++;
      if (line > skipLines) {
        const end = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
        const entry = entryOf(bodyOf(text.slice(start, end), line), line);
        if (entry !== undefined) out.push(entry);
        if (out.length >= CHUNK_ENTRIES) {
          yield out;
          out = [];
        }
      }
      start = nl + 1;
    }
    rest = text.slice(start);
    if (out.length > 0) yield out;
  }
  if (rest.length > 0) {
    line++;
    const body = rest.endsWith('\r') ? rest.slice(0, -1) : rest;
    const entry = line > skipLines ? entryOf(bodyOf(body, line), line) : undefined;
    if (entry !== undefined) yield [entry];
  }
}

/**
 * The file as text, a megabyte at a time. A chunk of ASCII alone (the usual manifest) is
 * copied byte for byte, which is half the work of UTF-8 decoding and gives the same text;
 * any other chunk goes through the decoder, and so does the one after it, so that bytes
 * of a sequence cut at the end of a chunk (even a malformed one) decode where they stand.
 */
async function* textChunks(path: string): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let decoding = false;
  for await (const bytes of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    const ascii = isAscii(bytes);
    yield !decoding && ascii ? bytes.toString('latin1') : decoder.write(bytes);
    decoding = !ascii;
  }
  const tail = decoder.end();
  if (tail.length > 0) yield tail;
}

/** A byte-order mark on line 1 is an editor's artefact, not data. */
const bodyOf = (text: string, line: number) => (line === 1 && text.startsWith(BOM) ? text.slice(1) : text);
