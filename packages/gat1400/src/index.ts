export * from './codec.ts';
export * from './digest.ts';
export * from './envelopes.ts';
export * from './ids.ts';
export * from './validate.ts';
export * from './client.ts';
