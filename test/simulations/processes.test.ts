import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cliArgv, cliEnv, NODE_SERVE_V8_FLAGS } from '../../simulations/processes.js';

describe('node process flags', () => {
  it('start a node serve with the heap sizing, and no other command', () => {
    expect(cliArgv(['node', 'serve', '--dir', 'beijing'])).toEqual([
      ...NODE_SERVE_V8_FLAGS,
      CLI,
      'node',
      'serve',
      '--dir',
      'beijing',
    ]);
    expect(cliArgv(['node', 'status', '--dir', 'beijing'])).toEqual([CLI, 'node', 'status', '--dir', 'beijing']);
    expect(cliArgv(['anchor', 'serve', '--dir', 'anchor'])).toEqual([CLI, 'anchor', 'serve', '--dir', 'anchor']);
  });

  it('are accepted by this Node on the command line, as the README tells operators', () => {
    expect(NODE_SERVE_V8_FLAGS.length).toBeGreaterThan(0);
    const argv = spawnSync(process.execPath, [...NODE_SERVE_V8_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect(argv.stderr).toBe('');
    expect(argv.status).toBe(0);
    // Node's NODE_OPTIONS takes only some V8 flags, and not --optimize-for-size: the README
    // says to give them on node's command line.
    const env = { ...process.env, NODE_OPTIONS: NODE_SERVE_V8_FLAGS.join(' ') };
    const options = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env });
    expect(options.stderr).toContain('--optimize-for-size is not allowed in NODE_OPTIONS');
  });

  it('give a node serve the malloc settings, leave other commands and variables set by the caller alone', () => {
    const env = { PATH: '/usr/bin' };
    expect(cliEnv(['node', 'serve', '--dir', 'beijing'], env)).toEqual({
      PATH: '/usr/bin',
      MALLOC_ARENA_MAX: '2',
      MALLOC_TRIM_THRESHOLD_: '131072',
    });
    expect(cliEnv(['node', 'serve'], { MALLOC_ARENA_MAX: '4' }).MALLOC_ARENA_MAX).toBe('4');
    expect(cliEnv(['node', 'status', '--dir', 'beijing'], env)).toBe(env);
    expect(cliEnv(['anchor', 'serve', '--dir', 'anchor'], env)).toBe(env);
  });
});
