import { describe, expect, it } from 'vitest';
import { SERVICE_NODE_FLAGS, serviceNodeArgs } from './node-flags.js';

describe('node arguments of the service processes (sediment start)', () => {
  it('gives a service its V8 flags after the supervisor’s own', () => {
    expect(SERVICE_NODE_FLAGS).toContain('--initial-old-space-size=128');
    expect(serviceNodeArgs(['--enable-source-maps'])).toEqual([
      '--enable-source-maps',
      ...SERVICE_NODE_FLAGS,
    ]);
    expect(serviceNodeArgs(['--cpu-prof'])).toEqual(['--cpu-prof', ...SERVICE_NODE_FLAGS]);
  });

  it('keeps a flag of the same name given explicitly (either spelling)', () => {
    expect(serviceNodeArgs(['--initial-old-space-size=64'])).toEqual([
      '--initial-old-space-size=64',
    ]);
    expect(serviceNodeArgs(['--initial_old_space_size=0'])).toEqual(['--initial_old_space_size=0']);
  });
});
