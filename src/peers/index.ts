export { batchLookups } from './batch-lookups.ts';
export { PeerClient, peerRoutes, sameSecret, MAX_LOOKUP_KEYS, PEER_LOOKUP_PATH, PEER_PATH, PEER_SECRET_HEADER } from './peers.ts';
