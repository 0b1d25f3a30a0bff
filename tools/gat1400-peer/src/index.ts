export * from './peer.ts';
