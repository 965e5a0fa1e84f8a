export { decodeAdmissionReview, allowedResponse, type AdmissionRequest } from './review.ts';
export { createAdmissionHandler, type AdmissionHandler, type HandleOutcome, type RecordSink } from './handler.ts';
export { admissionRoutes } from './routes.ts';
export { buildWebhookServer } from './server.ts';
export { inProcessWebhook, WebhookThread, type WebhookPort } from './thread.ts';
export { closeWithin } from './close-within.ts';
export type { LoopDelay, WebhookThreadConfig } from './thread-protocol.ts';
