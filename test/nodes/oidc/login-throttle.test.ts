import { describe, expect, it } from 'vitest';
import { LoginThrottle } from '../../../nodes/oidc/login-throttle.js';

describe('LoginThrottle', () => {
  it('locks a username after its failures, whatever the address, and a success clears them', async () => {
    const t = new LoginThrottle({ failuresPerUsername: 3, failuresPerAddress: 100 });
    await t.failed('li.wei', '10.0.0.1');
    await t.failed('LI.WEI ', '10.0.0.2');
    expect(await t.lockedFor('li.wei', '10.0.0.3')).toBe(0);
    await t.succeeded('li.wei');
    for (let i = 0; i < 3; i++) await t.failed('li.wei', `10.0.0.${i}`);
    expect(await t.lockedFor('Li.Wei', '10.9.9.9')).toBeGreaterThan(800);
    expect(await t.lockedFor('wang.fang', '10.9.9.9')).toBe(0);
  });

  it('locks an address that guesses across many usernames', async () => {
    const t = new LoginThrottle({ failuresPerUsername: 100, failuresPerAddress: 4 });
    for (let i = 0; i < 4; i++) await t.failed(`user${i}`, '192.0.2.7');
    expect(await t.lockedFor('someone-new', '192.0.2.7')).toBeGreaterThan(0);
    expect(await t.lockedFor('someone-new', '192.0.2.8')).toBe(0);
  });

  it('lets the username try again once the window has passed', async () => {
    const t = new LoginThrottle({ failuresPerUsername: 1, windowSeconds: 1 });
    await t.failed('li.wei', '::1');
    expect(await t.lockedFor('li.wei', '::1')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await t.lockedFor('li.wei', '::1')).toBe(0);
  });

  it('refuses a limit that is not a positive integer', () => {
    expect(() => new LoginThrottle({ failuresPerUsername: 0 })).toThrow(/failuresPerUsername/);
    expect(() => new LoginThrottle({ windowSeconds: 1.5 })).toThrow(/windowSeconds/);
  });
});
