export { coalesce } from './coalesce.ts';
export { PeerClient, peerRoutes, sameSecret, PEER_PATH, PEER_SECRET_HEADER } from './peers.ts';
