export { batchLookups } from './batch-lookups.ts';
export { PeerClient, peerRoutes, storePeerAnswers, type PeerCall, type PeerReply, sameSecret, MAX_LOOKUP_KEYS, PEER_LOOKUP_PATH, PEER_PATH, PEER_SECRET_HEADER } from './peers.ts';
