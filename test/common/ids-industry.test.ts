import { describe, expect, it } from 'vitest';
import { getIndustry, INDUSTRIES, isIndustry, parseIndustry } from '../../common/ids/index.js';

describe('industry registry', () => {
  it('holds at least ten industries with unique ids of the protocol grammar', () => {
    expect(INDUSTRIES.length).toBeGreaterThanOrEqual(10);
    expect(new Set(INDUSTRIES.map((i) => i.id)).size).toBe(INDUSTRIES.length);
    for (const industry of INDUSTRIES) expect(parseIndustry(industry.id)).toBe(industry.id);
    expect(getIndustry('elderly-care').name).toBe('Elderly care');
  });

  it.each([
    ['heath', 'known-industry', 'did you mean "health"?'],
    ['Health', 'pattern', 'must match'],
    ['space-travel', 'known-industry', 'one of government-services'],
  ])('refuses %s (%s)', (input, rule, text) => {
    expect(() => parseIndustry(input, 'industry')).toThrow(
      expect.objectContaining({
        code: 'INVALID_IDENTIFIER',
        details: expect.objectContaining({ rule }),
        message: expect.stringContaining(text),
      }),
    );
    expect(isIndustry(input)).toBe(false);
  });
});
