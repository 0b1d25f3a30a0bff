import { createEmbeddedBus, type EmbeddedBusOptions } from './embedded.ts';
import { createKafkaBus, type KafkaBusOptions } from './kafka.ts';
import type { Bus } from './types.ts';

/** Which bus, from configuration only (`BUS_KIND`); services never branch on it. */
export type BusConfig =
  ({ readonly kind: 'kafka' } & KafkaBusOptions) | ({ readonly kind: 'embedded' } & EmbeddedBusOptions);

/** The composition root's entry: the implementation follows from configuration. */
export async function createBus(config: BusConfig): Promise<Bus> {
  switch (config.kind) {
    case 'kafka':
      return createKafkaBus(config);
    case 'embedded':
      return createEmbeddedBus(config);
    default: {
      const never: never = config;
      throw new Error(`bus: unknown kind ${(never as { kind: string }).kind}`);
    }
  }
}
