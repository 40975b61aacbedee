import { createDefaultEsmPreset } from 'ts-jest';

/** Jest runs the TypeScript sources as native ESM (see domain/stack.md §4). */
export default {
  ...createDefaultEsmPreset({ tsconfig: 'tsconfig.json' }),
  testEnvironment: 'node',
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  // Integration suites start servers and child processes; keep them off each other's ports and CPU.
  maxWorkers: 2,
  testTimeout: 60000,
};
