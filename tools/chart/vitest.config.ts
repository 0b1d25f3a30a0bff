import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../../vitest.shared.ts';

export default mergeConfig(
  shared,
  defineConfig({
    test: {
      // Helm and the schema validator are installed once, before the files run.
      globalSetup: ['./test/global-setup.ts'],
      // The files start services and Helm renders: one at a time on the shared CI machine.
      fileParallelism: false,
    },
  }),
);
