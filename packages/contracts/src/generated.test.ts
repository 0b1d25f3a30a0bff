import { describe, expect, it } from 'vitest';
import { inputsHash } from '../scripts/codegen.ts';
import { PROTO_FILES, PROTO_INPUTS_SHA256 } from './generated/index.ts';

describe('generated code', () => {
  it('is up to date with protos/ (else run `pnpm --filter @anfang/contracts codegen`)', () => {
    expect(PROTO_INPUTS_SHA256, 'src/generated is stale: run `pnpm --filter @anfang/contracts codegen`').toBe(
      inputsHash(),
    );
    expect(PROTO_FILES).toContain('anfang/common/v1/event.proto');
  });
});
