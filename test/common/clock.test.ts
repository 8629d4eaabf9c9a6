import { describe, expect, it } from 'vitest';
import { type Clock, MANUAL_CLOCK_DEFAULT_START_MS, ManualClock, systemClock } from '../../common/clock.js';

describe('systemClock', () => {
  it('reads the wall clock in milliseconds and whole seconds', () => {
    const before = Date.now();
    const ms = systemClock.nowMs();
    const seconds = systemClock.nowSeconds();
    const date = systemClock.now();
    const after = Date.now();
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(after);
    expect(date.getTime()).toBeGreaterThanOrEqual(before);
    expect(Number.isInteger(seconds)).toBe(true);
    expect(seconds).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(seconds).toBeLessThanOrEqual(Math.floor(after / 1000));
  });
});

describe('ManualClock', () => {
  it('starts at 2025-01-01T00:00:00Z unless told otherwise', () => {
    expect(new ManualClock().now().toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(new ManualClock().nowMs()).toBe(MANUAL_CLOCK_DEFAULT_START_MS);
    expect(new ManualClock(new Date('2030-06-01T12:00:00Z')).nowSeconds()).toBe(Date.UTC(2030, 5, 1, 12) / 1000);
  });

  it('stands still until advanced', () => {
    const clock = new ManualClock(1_000);
    expect(clock.nowMs()).toBe(1_000);
    expect(clock.nowMs()).toBe(1_000);
    clock.advance(1_500);
    expect(clock.nowMs()).toBe(2_500);
    clock.advanceSeconds(2);
    expect(clock.nowMs()).toBe(4_500);
  });

  it('rounds seconds down, as JWT NumericDates are', () => {
    const clock = new ManualClock(1_999);
    expect(clock.nowSeconds()).toBe(1);
  });

  it('jumps forwards and backwards with set', () => {
    const clock = new ManualClock(10_000);
    clock.set(new Date(5_000));
    expect(clock.nowMs()).toBe(5_000);
    clock.set(20_000);
    expect(clock.now()).toEqual(new Date(20_000));
  });

  it('hands out Dates the caller cannot use to move the clock', () => {
    const clock = new ManualClock(0);
    clock.now().setTime(99_999);
    expect(clock.nowMs()).toBe(0);
  });

  it('refuses to advance backwards or by a non-finite amount', () => {
    const clock = new ManualClock(0);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(() => new ManualClock(new Date('not a date'))).toThrow(TypeError);
    expect(() => clock.set(Number.POSITIVE_INFINITY)).toThrow(TypeError);
  });

  it('is a Clock', () => {
    const clock: Clock = new ManualClock();
    expect(typeof clock.nowSeconds()).toBe('number');
  });
});
