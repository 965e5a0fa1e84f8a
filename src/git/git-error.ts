// Maps what isomorphic-git and the network throw to the error catalogue, by code and never by
// message. Messages name the remote URL (credentials stripped) and never a password.
import { KubescribeError } from '../errors.ts';

const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH',
  'EPIPE', 'ECONNABORTED', 'ESOCKETTIMEDOUT', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT',
]);

/** The URL without user info, for messages and logs. */
export function redactUrl(url: string): string {
  // A bare URL is normalised by the URL parser (local clone folders are named after it); any other
  // text (an error message quoting URLs) only loses the user info of each URL in it.
  if (!/\s/.test(url)) {
    try {
      const u = new URL(url);
      u.username = '';
      u.password = '';
      return u.toString().replace(/\/$/, url.endsWith('/') ? '/' : '');
    } catch {
      // not a URL: fall through
    }
  }
  return url.replace(/([a-z][a-z0-9+.-]*:)?\/\/[^/@\s]*@/gi, '$1//');
}

// TLS failures: the remote's certificate is not trusted (an internal CA) or does not fit.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

interface ErrorLike { code?: unknown; message?: unknown; data?: { statusCode?: unknown; statusMessage?: unknown; reason?: unknown }; cause?: unknown }

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as ErrorLike & { errors?: unknown[] };
  if (typeof e.code === 'string' && (NETWORK_CODES.has(e.code) || TLS_CODES.has(e.code))) return e.code;
  for (const inner of e.errors ?? []) {
    const c = networkCode(inner, depth + 1);
    if (c) return c;
  }
  return networkCode(e.cause, depth + 1);
}

/** A KubescribeError for a failed fetch or push against url. */
export function toGitError(err: unknown, url: string, action: 'fetch' | 'push' = 'push'): KubescribeError {
  if (err instanceof KubescribeError) return err;
  const where = redactUrl(url);
  const e = (err ?? {}) as ErrorLike;
  if (e.code === 'HttpError') {
    const status = Number(e.data?.statusCode);
    const text = typeof e.data?.statusMessage === 'string' ? ` ${e.data.statusMessage}` : '';
    if (status === 401 || status === 403) {
      return new KubescribeError('KUBESCRIBE_ERR_GIT_AUTH', `Git remote ${where} refused the credentials (HTTP ${status}${text}) during ${action}`, { cause: err });
    }
    if (status === 404) {
      return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} has no such repository (HTTP 404) during ${action}`, { cause: err });
    }
    return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} answered HTTP ${status}${text} during ${action}`, { cause: err });
  }
  const net = networkCode(err);
  if (net && TLS_CODES.has(net)) {
    return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where}: TLS certificate not accepted (${net}) during ${action}; if it is signed by an internal CA, give kubescribe that CA (Helm value git.caBundle, or NODE_EXTRA_CA_CERTS)`, { cause: err });
  }
  if (net) return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `Git remote ${where} could not be reached (${net}) during ${action}`, { cause: err });
  if (e.code === 'SmartHttpError') {
    return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `${where} did not answer as a Git smart HTTP server during ${action}`, { cause: err });
  }
  const msg = typeof e.message === 'string' ? e.message : String(err);
  if (action === 'push') return new KubescribeError('KUBESCRIBE_ERR_GIT_PUSH_REJECTED', `push to ${where} failed: ${msg}`, { cause: err });
  return new KubescribeError('KUBESCRIBE_ERR_GIT_UNREACHABLE', `fetch from ${where} failed: ${msg}`, { cause: err });
}
