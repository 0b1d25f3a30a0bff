import { envFragment, secret, z } from '../config/index.ts';

export const callerAuthEnv = envFragment({
  /**
   * HS256 key(s) of caller tokens (≥ 32 bytes each; comma-separated list: the first signs, all
   * verify). Usually CALLER_TOKEN_KEY_FILE, mounted from the same secret in every service.
   */
  CALLER_TOKEN_KEY: secret(
    z.string().refine(
      (value) =>
        value
          .split(',')
          .map((k) => k.trim())
          .every((k) => Buffer.byteLength(k) >= 32),
      'every key must be at least 32 bytes',
    ),
  ),
});
