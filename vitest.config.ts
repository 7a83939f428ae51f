import { defineConfig } from 'vitest/config';

/**
 * One vitest project per workspace package plus the cross-package suites under test/.
 * Workspace imports resolve to TypeScript sources through the `sediment-src` export
 * condition, so tests never need a build first.
 */
const projects = [
  'packages/config',
  'packages/service-kit',
  'packages/object-store',
  'packages/ingest',
  'packages/otlp',
  'packages/flight',
  'packages/lake',
  'services/writer',
  'services/acceptor',
  'services/cli',
];

const conditions = ['sediment-src', 'node', 'import', 'default'];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['sediment-src'] } },
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time even on 2 cores (vitest's default would be 1): most of the
    // long suites wait on child processes and timers (chaos, outages, crash rounds), so
    // two overlap well; CI's whole run stays well under its 15 minutes this way.
    // SEDIMENT_TEST_WORKERS overrides.
    maxWorkers: Number(process.env.SEDIMENT_TEST_WORKERS ?? 2),
    projects: [
      ...projects.map((root) => ({
        extends: true as const,
        test: {
          name: root.split('/')[1]!,
          root,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
        },
      })),
      {
        extends: true as const,
        test: { name: 'e2e', root: 'test', include: ['**/*.test.ts'] },
      },
      {
        extends: true as const,
        test: { name: 'deploy', root: 'deploy', include: ['test/**/*.test.ts'] },
      },
    ],
  },
});
