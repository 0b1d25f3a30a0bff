/**
 * HTTPS towards a platform whose certificate is signed by its own CA (common for police
 * networks): a dispatcher trusting exactly that CA. undici is the version Node bundles, so its
 * Agent plugs into the global fetch.
 */
import { Agent } from 'undici';

export function dispatcherFor(caPem: string): Agent {
  return new Agent({ connect: { ca: caPem }, keepAliveTimeout: 30_000 });
}
