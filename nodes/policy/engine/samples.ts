import { isMap, isSeq, LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { ERROR_CODES } from '../../../common/errors/index.js';
import {
  levelOf,
  parseCityName,
  parseIndustry,
  parseRegionCode,
  REGION_LEVELS,
  zodIdentifier,
} from '../../../common/ids/index.js';
import { type PolicyProblem, policyInvalid } from './parse-rules.js';
import type { PolicySnapshot, PolicySource } from './snapshot.js';
import { CLASSIFICATIONS, POLICY_ACTIONS, type PolicyRequest, SUBJECT_KINDS } from './types.js';

const region = zodIdentifier((v) => parseRegionCode(v));
const city = zodIdentifier((v) => parseCityName(v));
const industry = zodIdentifier((v) => parseIndustry(v));

const sampleSchema = z
  .object({
    name: z.string().min(1),
    subject: z
      .object({
        kind: z.enum(SUBJECT_KINDS).default('app'),
        id: z.string().min(1).default('sample-subject'),
        city,
        industry,
        /** Defaults to the level of the region code. */
        level: z.enum(REGION_LEVELS).optional(),
        region,
        org: z.string().optional(),
        roles: z.array(z.string()).default([]),
      })
      .strict(),
    object: z
      .object({
        ownerCity: city,
        id: z.string().min(1),
        industry,
        region,
        classification: z.enum(CLASSIFICATIONS),
        kind: z.enum(['dataset', 'capability']).default('dataset'),
      })
      .strict(),
    action: z.enum(POLICY_ACTIONS),
    purpose: z.string().default(''),
    agreement: z.boolean().default(false),
    grantMaxClassification: z.enum(CLASSIFICATIONS).optional(),
    expect: z.enum(['allow', 'deny']),
    /** The rule that must decide (`default-deny` for none). */
    rule: z.string().optional(),
    code: z.enum(ERROR_CODES as [string, ...string[]]).optional(),
  })
  .strict();

/** One sample request of a set with the outcome it must get. */
export interface Sample {
  readonly name: string;
  readonly line: number;
  readonly request: PolicyRequest;
  readonly expect: 'allow' | 'deny';
  readonly rule?: string;
  readonly code?: string;
}

/**
 * Parses samples.yaml: a list of samples, each located by its line.
 *
 * @throws MeshError `POLICY_INVALID` (details.rule `sample`) naming file, line and sample
 */
export function parseSamples(source: PolicySource): Sample[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(source.text, { lineCounter });
  const lineOf = (offset: number | undefined) => (offset === undefined ? 1 : lineCounter.linePos(offset).line);
  const file = source.path ?? source.name;
  const problems: PolicyProblem[] = doc.errors.map((e) => ({
    file,
    line: e.linePos?.[0]?.line ?? 1,
    column: e.linePos?.[0]?.col,
    message: e.message,
  }));
  if (problems.length > 0) throw policyInvalid(problems, 'sample');
  const items = isSeq(doc.contents) ? doc.contents.items : [];
  if (!isSeq(doc.contents) || items.length === 0) {
    throw policyInvalid([{ file, line: 1, message: 'samples must be a non-empty list' }], 'sample');
  }
  const samples: Sample[] = [];
  items.forEach((item, index) => {
    const line = lineOf(isMap(item) ? item.range?.[0] : undefined);
    const raw = (item as { toJSON(): unknown }).toJSON();
    const parsed = sampleSchema.safeParse(raw);
    const label = `sample ${index + 1}${typeof (raw as { name?: unknown })?.name === 'string' ? ` "${(raw as { name: string }).name}"` : ''}`;
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        problems.push({ file, line, message: `${label}: ${issue.path.join('.')}: ${issue.message}` });
      }
      return;
    }
    const { name, subject, object, action, purpose, agreement, grantMaxClassification, expect, rule, code } =
      parsed.data;
    const request: PolicyRequest = {
      subject: { ...subject, level: subject.level ?? levelOf(subject.region) },
      object,
      action,
      purpose,
      context: grantMaxClassification === undefined ? { agreement } : { agreement, grantMaxClassification },
    };
    samples.push({ name, line, request, expect, rule, code });
  });
  if (problems.length > 0) throw policyInvalid(problems, 'sample');
  return samples;
}

/**
 * Decides every sample with the engine and with the plain Casbin enforcer. A sample
 * whose outcome (or named rule or code) differs, or on which the two disagree, refuses
 * the set, saying what was decided instead.
 *
 * @throws MeshError `POLICY_INVALID` (details.rule `sample`)
 */
export function checkSamples(snapshot: PolicySnapshot, samples: readonly Sample[]): void {
  const source = snapshot.sources.samples;
  const file = source?.path ?? source?.name ?? 'samples.yaml';
  const problems: PolicyProblem[] = [];
  for (const sample of samples) {
    const decision = snapshot.decide(sample.request);
    const got = decision.allowed ? 'allow' : 'deny';
    const says = `${got} by ${decision.rule}${decision.code === undefined ? '' : ` (${decision.code})`}: ${decision.reason}`;
    const fail = (message: string) =>
      problems.push({ file, line: sample.line, message: `sample "${sample.name}": ${message}` });
    if (got !== sample.expect) fail(`expected ${sample.expect}, decided ${says}`);
    else if (sample.rule !== undefined && sample.rule !== decision.rule)
      fail(`expected rule ${sample.rule}, decided ${says}`);
    else if (sample.code !== undefined && sample.code !== decision.code)
      fail(`expected code ${sample.code}, decided ${says}`);
    const reference = snapshot.decideByReference(sample.request);
    if (reference.allowed !== decision.allowed) {
      fail(
        `the engine decided ${got} but the Casbin model decides ${reference.allowed ? 'allow' : 'deny'} (${reference.rule}): an engine bug or a changed model.conf matcher`,
      );
    }
  }
  if (problems.length > 0) throw policyInvalid(problems, 'sample');
}
