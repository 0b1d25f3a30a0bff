import { defineConfig, mergeConfig } from 'vitest/config';
import shared from '../vitest.shared.ts';

// Each file starts a whole platform: one at a time on a small machine.
export default mergeConfig(shared, defineConfig({ test: { fileParallelism: false } }));
