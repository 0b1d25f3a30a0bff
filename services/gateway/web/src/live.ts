import { withQuery } from './api.ts';

/** Event names of the gateway's `/v1/live` stream (services/gateway/README.md). */
export type LiveEventName = 'alarm' | 'device-status' | 'access' | 'passage' | 'level';
export type LiveState = 'connecting' | 'open' | 'closed';

/** Every event's data: the compound it concerns and the event payload in proto3 JSON. */
export interface LiveEnvelope<P = Record<string, unknown>> {
  readonly type: LiveEventName;
  readonly compoundId: string;
  readonly occurredAt?: string;
  readonly eventId?: string;
  readonly payload: P;
}

type Listener = (event: LiveEnvelope) => void;

const NAMES: readonly LiveEventName[] = ['alarm', 'device-status', 'access', 'passage', 'level'];

/**
 * A connection to `/v1/live`. The app keeps one for alarms, device status and levels; the
 * compound page opens a narrowed one for its access and passage feed (high volume, so a district
 * viewer does not receive every compound's passages). EventSource reconnects by itself and
 * resumes with Last-Event-ID; when the session has expired the gateway refuses and the
 * connection closes, which `onState` reports.
 */
export class LiveStream {
  #source: EventSource | undefined;
  #listeners = new Map<LiveEventName, Set<Listener>>();
  #stateListeners = new Set<(state: LiveState) => void>();
  #state: LiveState = 'closed';

  get state(): LiveState {
    return this.#state;
  }

  open(types: readonly LiveEventName[], compound?: string): void {
    this.#source?.close();
    const source = new EventSource(withQuery('/v1/live', { types: types.join(','), compound }), {
      withCredentials: true,
    });
    this.#source = source;
    this.#setState('connecting');
    source.addEventListener('open', () => this.#setState('open'));
    source.addEventListener('error', () => {
      if (source !== this.#source) return;
      if (source.readyState === EventSource.CLOSED) this.#source = undefined;
      this.#setState(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    });
    for (const name of NAMES) {
      source.addEventListener(name, (event) => this.#dispatch(name, (event as MessageEvent<string>).data));
    }
  }

  close(): void {
    if (!this.#source) return;
    this.#source.close();
    this.#source = undefined;
    this.#setState('closed');
  }

  /** Returns the unsubscribe function. */
  on(name: LiveEventName, listener: Listener): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  onState(listener: (state: LiveState) => void): () => void {
    this.#stateListeners.add(listener);
    listener(this.#state);
    return () => this.#stateListeners.delete(listener);
  }

  #dispatch(name: LiveEventName, raw: string): void {
    const event = parseEnvelope(name, raw);
    if (!event) return;
    for (const listener of this.#listeners.get(name) ?? []) listener(event);
  }

  #setState(state: LiveState): void {
    this.#state = state;
    for (const listener of this.#stateListeners) listener(state);
  }
}

/** A frame's data as an envelope; a malformed frame gives undefined and is dropped, the stream stays up. */
export function parseEnvelope(name: LiveEventName, raw: string): LiveEnvelope | undefined {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof data !== 'object' || data === null) return undefined;
  const { compoundId, payload, occurredAt, eventId } = data as Record<string, unknown>;
  if (typeof compoundId !== 'string' || typeof payload !== 'object' || payload === null) return undefined;
  return {
    type: name,
    compoundId,
    payload: payload as Record<string, unknown>,
    ...(typeof occurredAt === 'string' ? { occurredAt } : {}),
    ...(typeof eventId === 'string' ? { eventId } : {}),
  };
}
