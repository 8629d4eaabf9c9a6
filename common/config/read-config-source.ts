import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { MeshError } from '../errors/mesh-error.js';

/** File extensions `loadConfig` reads, and how. */
export const CONFIG_FILE_FORMATS = Object.freeze({ '.yaml': 'yaml', '.yml': 'yaml', '.json': 'json' } as const);

/**
 * Reads and parses a configuration file, YAML or JSON by extension. YAML is read as
 * YAML 1.2 core schema (the `yaml` package's default): `no` stays a string, and
 * duplicate keys are an error rather than a silent overwrite.
 *
 * @throws MeshError `INVALID_CONFIG` with `details.rule` `file-extension`, `file-read` or `file-syntax`
 */
export function readConfigSource(file: string, service: string): unknown {
  const extension = extname(file).toLowerCase();
  const format = (CONFIG_FILE_FORMATS as Record<string, 'yaml' | 'json' | undefined>)[extension];
  const fail = (rule: string, message: string, cause?: unknown) =>
    new MeshError('INVALID_CONFIG', `${service} config ${file}: ${message}`, {
      details: { service, source: file, path: '', rule },
      cause,
    });
  if (format === undefined) {
    throw fail(
      'file-extension',
      `unsupported extension ${JSON.stringify(extension)}; use ${Object.keys(CONFIG_FILE_FORMATS).join(', ')}`,
    );
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail('file-read', `cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, err);
  }
  try {
    return format === 'json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw fail('file-syntax', `is not valid ${format.toUpperCase()}: ${(err as Error).message}`, err);
  }
}
