export { correlationKey, scaleContent, type CorrelationKeyParts, type Operation } from './key.ts';
export { CorrelationStore, type Author, type CorrelationStoreOptions } from './store.ts';
export { PeerClient, peerRoutes, sameSecret, PEER_PATH, PEER_SECRET_HEADER } from './peers.ts';
