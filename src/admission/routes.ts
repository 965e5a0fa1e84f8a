// Fastify plugin with the admission route. Decodes the review, hands the typed request to the
// handler and answers `allowed: true` at once. Malformed bodies get a 4xx with a clear message and
// a stable error code; a handler fault is logged and still answers allowed (never block a request).
import type { FastifyInstance, FastifyPluginAsync, FastifyError } from 'fastify';
import { KubescribeError } from '../errors.ts';
import { allowedResponse, decodeAdmissionReview } from './review.ts';
import type { AdmissionHandler, HandleOutcome } from './handler.ts';

export interface AdmissionRoutesOptions {
  handler: AdmissionHandler;
  path?: string;
  observe?: (outcome: HandleOutcome | 'malformed' | 'error', seconds: number) => void;
}

export const admissionRoutes: FastifyPluginAsync<AdmissionRoutesOptions> = async (app: FastifyInstance, opts) => {
  const path = opts.path ?? '/admission';
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const { status, code } = classify(err);
    opts.observe?.(status >= 500 ? 'error' : 'malformed', 0);
    if (status >= 500) req.log.error({ err }, 'admission route failed');
    else req.log.warn({ code, message: err.message }, 'rejected malformed admission request');
    void reply.code(status).send({ code, message: err.message });
  });

  app.post(path, async (req, reply) => {
    const start = process.hrtime.bigint();
    const review = decodeAdmissionReview(req.body);
    let outcome: HandleOutcome | 'error';
    try {
      outcome = opts.handler.handle(review);
    } catch (err) {
      // Recording failed; the request itself must still go through.
      req.log.error({ err, uid: review.uid, resource: review.resource.resource, namespace: review.namespace, name: review.name }, 'could not record admission request');
      outcome = 'error';
    }
    opts.observe?.(outcome, Number(process.hrtime.bigint() - start) / 1e9);
    return reply.send(allowedResponse(review.uid));
  });
};

function classify(err: FastifyError): { status: number; code: string } {
  if (err instanceof KubescribeError) return { status: 400, code: err.code };
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, code: 'KUBESCRIBE_ERR_ADMISSION_TOO_LARGE' };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, code: 'KUBESCRIBE_ERR_ADMISSION_MALFORMED' };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, code: 'KUBESCRIBE_ERR_ADMISSION_MALFORMED' };
    default:
      if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) return { status: err.statusCode, code: 'KUBESCRIBE_ERR_ADMISSION_MALFORMED' };
      return { status: 500, code: 'KUBESCRIBE_ERR_INTERNAL' };
  }
}
