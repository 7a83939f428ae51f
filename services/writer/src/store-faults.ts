import { ConfigError } from '@sediment/config';
import {
  FaultInjectingStore,
  type FaultInjectionOptions,
  type ObjectStore,
} from '@sediment/object-store';

/**
 * TEST-ONLY: `SEDIMENT_TEST_STORE_FAULTS=transient=0.05,lost=0.02,latency=0-20,seed=7`
 * wraps the writer's store in the fault injector (transient errors before the call,
 * replies lost after it was applied, extra latency), for the chaos and outage suites.
 * Never set it in production.
 */
export function parseStoreFaults(text: string): FaultInjectionOptions {
  const options: { -readonly [K in keyof FaultInjectionOptions]: FaultInjectionOptions[K] } = {
    seed: 1,
  };
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [key, value = ''] = part.split('=').map((s) => s.trim()) as [string, string?];
    const rate = () => {
      const n = Number(value);
      if (!(n >= 0 && n <= 1)) throw bad(`${key} must be a probability between 0 and 1`);
      return n;
    };
    switch (key) {
      case 'transient':
        options.transientErrorRate = rate();
        break;
      case 'lost':
        options.lostReplyRate = rate();
        break;
      case 'seed':
        if (!/^\d+$/.test(value)) throw bad('seed must be a non-negative integer');
        options.seed = Number(value);
        break;
      case 'latency': {
        const m = /^(\d+)-(\d+)$/.exec(value);
        if (!m || Number(m[1]) > Number(m[2]))
          throw bad('latency must be min-max in ms, e.g. 0-20');
        options.latencyMs = { min: Number(m[1]), max: Number(m[2]) };
        break;
      }
      default:
        throw bad(`unknown key ${JSON.stringify(key)} (use transient, lost, latency, seed)`);
    }
  }
  return options;
}

function bad(reason: string): ConfigError {
  return new ConfigError([`SEDIMENT_TEST_STORE_FAULTS: ${reason}`]);
}

export function withStoreFaults(store: ObjectStore, spec: string | undefined): ObjectStore {
  return spec ? new FaultInjectingStore(store, parseStoreFaults(spec)) : store;
}
