/**
 * Keeps one PlatformLink per enabled upper platform, following changes to the platforms
 * (UpdatePlatform here or on another replica): a changed platform's link is stopped
 * (UnRegister) and started again with the new settings.
 */
import type { Obj } from '@anfang/gat1400';
import type { Logger } from '@anfang/platform/log';
import type { ObjectStore } from '@anfang/platform/objects';
import type { Platform, PlatformStore, SessionState } from '../store/platforms.ts';
import { startPlatformLink, type LinkDeps, type LinkOptions, type PlatformLink } from './link.ts';
import type { UploadMetrics } from './metrics.ts';
import type { SecretResolver } from './secrets.ts';
import { dispatcherFor } from './tls.ts';

/** A link's own outbox connections: its claimed batches hold them while on the wire. */
export interface LinkOutbox {
  readonly outbox: LinkDeps['outbox'];
  close(): Promise<void>;
}

export interface Links {
  /** Enabled platforms as last read. */
  platforms(): readonly Platform[];
  state(platformId: string): SessionState | undefined;
  wake(platformId: string): void;
  /** Re-reads the platforms now (after an update). */
  refresh(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLinks(deps: {
  readonly platforms: PlatformStore;
  /** Opens the outbox connections of one link (closed when the link stops). */
  readonly openOutbox: () => LinkOutbox;
  readonly images: Pick<ObjectStore, 'get'>;
  readonly reveal: (body: Obj) => Obj;
  readonly metrics: UploadMetrics;
  readonly secrets: SecretResolver;
  readonly options: LinkOptions;
  readonly refreshMs: number;
  readonly logger: Logger;
}): Promise<Links> {
  const log = deps.logger.child({ component: 'links' });
  const running = new Map<string, { platform: Platform; link: PlatformLink; outbox: LinkOutbox }>();
  const stopLink = async (r: { link: PlatformLink; outbox: LinkOutbox }): Promise<void> => {
    await r.link.stop();
    await r.outbox.close();
  };
  let current: Platform[] = [];
  let stopped = false;

  async function refresh(): Promise<void> {
    const all = await deps.platforms.list();
    current = all.filter((p) => p.enabled);
    const wanted = new Map(current.map((p) => [p.platformId, p]));
    for (const [id, r] of running) {
      const next = wanted.get(id);
      if (!next || JSON.stringify(next) !== JSON.stringify(r.platform)) {
        running.delete(id);
        await stopLink(r);
      }
    }
    for (const platform of current) {
      if (running.has(platform.platformId) || stopped) continue;
      const password = await deps.secrets(platform.passwordRef);
      if (password === undefined) {
        log.error(
          { platformId: platform.platformId, passwordRef: platform.passwordRef },
          'platform password secret not found: not connecting',
        );
        continue;
      }
      const outbox = deps.openOutbox();
      const link = startPlatformLink({
        platform,
        password,
        ...(platform.tlsCaPem ? { dispatcher: dispatcherFor(platform.tlsCaPem) } : {}),
        outbox: outbox.outbox,
        platforms: deps.platforms,
        images: deps.images,
        reveal: deps.reveal,
        metrics: deps.metrics,
        logger: deps.logger,
        options: deps.options,
      });
      running.set(platform.platformId, { platform, link, outbox });
    }
  }

  await refresh();
  let chain = Promise.resolve();
  const timer = setInterval(() => {
    chain = chain.then(refresh).catch((err: unknown) => log.warn({ err }, 'platforms not refreshed'));
  }, deps.refreshMs);

  return {
    platforms: () => current,
    state: (id) => running.get(id)?.link.state(),
    wake: (id) => running.get(id)?.link.wake(),
    refresh: () => (chain = chain.then(refresh)),
    async stop() {
      stopped = true;
      clearInterval(timer);
      await chain.catch(() => undefined);
      await Promise.all([...running.values()].map(stopLink));
      running.clear();
    },
  };
}
