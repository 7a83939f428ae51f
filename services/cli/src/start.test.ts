import { ACCEPTOR_NODE_FLAGS } from '@sediment/acceptor';
import { WRITER_NODE_FLAGS } from '@sediment/writer';
import { describe, expect, it } from 'vitest';
import { nodeArgsFor } from './start.js';

describe('sediment start: node arguments of the supervised processes', () => {
  it('gives the writer its V8 flags after the supervisor’s own', () => {
    expect(WRITER_NODE_FLAGS).toContain('--initial-old-space-size=128');
    expect(nodeArgsFor('writer', ['--enable-source-maps'])).toEqual([
      '--enable-source-maps',
      ...WRITER_NODE_FLAGS,
    ]);
  });

  it('keeps a flag of the same name given explicitly (either spelling)', () => {
    expect(nodeArgsFor('writer', ['--initial-old-space-size=64'])).toEqual([
      '--initial-old-space-size=64',
    ]);
    expect(nodeArgsFor('writer', ['--initial_old_space_size=0'])).toEqual([
      '--initial_old_space_size=0',
    ]);
  });

  it('gives the acceptor its own V8 flags', () => {
    expect(ACCEPTOR_NODE_FLAGS).toContain('--initial-old-space-size=128');
    expect(nodeArgsFor('acceptor', ['--cpu-prof'])).toEqual(['--cpu-prof', ...ACCEPTOR_NODE_FLAGS]);
  });
});
