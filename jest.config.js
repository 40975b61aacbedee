import { createDefaultEsmPreset } from 'ts-jest';

/** Jest runs the TypeScript sources as native ESM (see domain/stack.md §4). */
export default {
  ...createDefaultEsmPreset({ tsconfig: 'tsconfig.json' }),
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // A private redis-server when none answers at REDIS_URL; missing tools reported once (test/global-setup.mjs).
  globalSetup: '<rootDir>/test/global-setup.mjs',
  globalTeardown: '<rootDir>/test/global-teardown.mjs',
  // Integration suites start servers and child processes; keep them off each other's ports and CPU.
  maxWorkers: 2,
  testTimeout: 60000,
};
