import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { liveness, selfIdentity } from './process-identity.js';

describe('process identity and liveness', () => {
  it('describes this process and finds it alive', () => {
    const me = selfIdentity();
    expect(me.pid).toBe(process.pid);
    expect(liveness(me)).toBe('alive');
    if (process.platform === 'linux') {
      expect(me.startTime).toMatch(/^\d+$/);
      expect(me.bootId).toMatch(/^[0-9a-f-]{36}$/);
      expect(me.pidNamespace).toMatch(/^pid:\[\d+\]$/);
    }
  });

  it('finds an exited process dead', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => child.on('exit', resolve));
    expect(liveness({ ...selfIdentity(), pid: child.pid! })).toBe('dead');
  });

  it.runIf(process.platform === 'linux')(
    'a reused pid (other start time) or another boot is dead',
    () => {
      expect(liveness({ ...selfIdentity(), startTime: '1' })).toBe('dead');
      expect(liveness({ ...selfIdentity(), bootId: '00000000-0000-0000-0000-000000000000' })).toBe(
        'dead',
      );
    },
  );

  it('cannot judge a process on another host or in another pid namespace', () => {
    expect(liveness({ ...selfIdentity(), host: 'elsewhere.example' })).toBe('unknown');
    expect(liveness({ ...selfIdentity(), pidNamespace: 'pid:[1]' })).toBe('unknown');
  });
});
