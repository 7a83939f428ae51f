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
