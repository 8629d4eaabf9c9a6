import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cliArgv, NODE_SERVE_V8_FLAGS } from '../../simulations/processes.js';

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

  it('are accepted by this Node on the command line and in NODE_OPTIONS, as the README tells operators', () => {
    expect(NODE_SERVE_V8_FLAGS.length).toBeGreaterThan(0);
    const argv = spawnSync(process.execPath, [...NODE_SERVE_V8_FLAGS, '-e', '0'], { encoding: 'utf8' });
    expect(argv.stderr).toBe('');
    expect(argv.status).toBe(0);
    const env = { ...process.env, NODE_OPTIONS: NODE_SERVE_V8_FLAGS.join(' ') };
    const options = spawnSync(process.execPath, ['-e', '0'], { encoding: 'utf8', env });
    expect(options.stderr).toBe('');
    expect(options.status).toBe(0);
  });
});
