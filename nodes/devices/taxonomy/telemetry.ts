import { didYouMean } from '../../../common/config/did-you-mean.js';
import type { DeviceType, NumericField, TelemetryField } from './schema.js';

/** A value of a telemetry field: a finite number, a boolean or a string. */
export type TelemetryValue = number | boolean | string;

export type TelemetryResult =
  | { readonly ok: true; readonly values: Readonly<Record<string, TelemetryValue>> }
  | { readonly ok: false; readonly problems: readonly string[] };

/** A compiled schema of one device type: plain closures, no zod, run once per reading. */
export type TelemetryValidator = (reading: unknown) => TelemetryResult;

/** A hostile reading with thousands of bad keys must not yield thousands of messages. */
const MAX_PROBLEMS = 16;

type Check = (value: unknown) => string | undefined;

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value === 'string' ? 'string' : typeof value;

function numberCheck(field: NumericField): Check {
  const { min, max, unit, type } = field;
  const shown = unit === '1' ? '' : ` ${unit}`;
  const kind = type === 'integer' ? 'an integer' : 'a number';
  return (value) => {
    if (typeof value !== 'number') return `must be ${kind}, got ${describe(value)}`;
    if (!Number.isFinite(value)) return `must be a finite number, got ${value}`;
    if (type === 'integer' && !Number.isInteger(value)) return `must be an integer, got ${value}`;
    if (value < min) return `${value} is below the minimum ${min}${shown}`;
    if (value > max) return `${value} is above the maximum ${max}${shown}`;
    return undefined;
  };
}

function checkOf(field: TelemetryField): Check {
  switch (field.type) {
    case 'number':
    case 'integer':
      return numberCheck(field);
    case 'boolean':
      return (value) => (typeof value === 'boolean' ? undefined : `must be a boolean, got ${describe(value)}`);
    case 'string': {
      const { maxLength } = field;
      return (value) => {
        if (typeof value !== 'string') return `must be a string, got ${describe(value)}`;
        return value.length > maxLength ? `must be at most ${maxLength} characters, got ${value.length}` : undefined;
      };
    }
    case 'enum': {
      const allowed = new Set(field.values);
      const list = field.values.map((v) => JSON.stringify(v)).join(', ');
      return (value) => {
        if (typeof value !== 'string') return `must be one of ${list}, got ${describe(value)}`;
        return allowed.has(value) ? undefined : `${JSON.stringify(value.slice(0, 64))} is not one of ${list}`;
      };
    }
  }
}

/**
 * Compiles a device type's telemetry schema into one function. A reading is an object of
 * field values; `undefined` counts as absent, `null` is a wrong type. On success `values`
 * holds a copy of the known fields only.
 */
export function compileTelemetryValidator(type: DeviceType): TelemetryValidator {
  const checks = new Map<string, Check>(type.fields.map((field) => [field.name, checkOf(field)]));
  const requiredNames = type.fields.filter((field) => field.required).map((field) => field.name);
  const names = type.fields.map((field) => field.name);
  const isRequired = new Set(requiredNames);

  return (reading) => {
    if (reading === null || typeof reading !== 'object' || Array.isArray(reading)) {
      return { ok: false, problems: [`reading must be an object, got ${describe(reading)}`] };
    }
    const record = reading as Record<string, unknown>;
    let problems: string[] | undefined;
    let extra = 0;
    const report = (text: string) => {
      problems ??= [];
      if (problems.length < MAX_PROBLEMS) problems.push(text);
      else extra++;
    };
    const values: Record<string, TelemetryValue> = {};
    let presentRequired = 0;
    for (const key of Object.keys(record)) {
      const value = record[key];
      if (value === undefined) continue;
      const check = checks.get(key);
      if (check === undefined) {
        // Suggestions cost an edit distance per field: only for problems that are shown.
        const suggestion = (problems?.length ?? 0) < MAX_PROBLEMS ? didYouMean(key, names) : undefined;
        const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
        report(`${JSON.stringify(key.slice(0, 64))}: unknown field${hint}`);
        continue;
      }
      if (isRequired.has(key)) presentRequired++;
      const problem = check(value);
      if (problem === undefined) values[key] = value as TelemetryValue;
      else report(`${key}: ${problem}`);
    }
    if (presentRequired < requiredNames.length) {
      for (const name of requiredNames) {
        if (!Object.hasOwn(record, name) || record[name] === undefined) report(`${name}: required field is missing`);
      }
    }
    if (problems === undefined) return { ok: true, values };
    if (extra > 0) problems.push(`… and ${extra} more problem(s)`);
    return { ok: false, problems };
  };
}

const compiled = new WeakMap<DeviceType, TelemetryValidator>();

/** The cached validator of a device type, compiled on first use. */
export function telemetryValidatorOf(type: DeviceType): TelemetryValidator {
  let validator = compiled.get(type);
  if (validator === undefined) {
    validator = compileTelemetryValidator(type);
    compiled.set(type, validator);
  }
  return validator;
}

/**
 * Checks one reading against its device type's telemetry schema: unknown fields, missing
 * required fields, wrong types, NaN and infinities, values out of range or not in the enum.
 */
export function validateTelemetry(type: DeviceType, reading: Readonly<Record<string, unknown>>): TelemetryResult {
  return telemetryValidatorOf(type)(reading);
}
