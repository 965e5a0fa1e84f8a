// The one error catalogue: stable codes (documented in docs/errors.md, checked by a test) and
// whether an error is terminal (retrying cannot help) or retryable (backoff and try again).

export const ErrorCodes = {
  KUBESCRIBE_ERR_SETTINGS_INVALID: { terminal: true, summary: 'The settings file or environment is invalid.' },
  KUBESCRIBE_ERR_ADMISSION_MALFORMED: { terminal: true, summary: 'An AdmissionReview body could not be decoded.' },
  KUBESCRIBE_ERR_ADMISSION_TOO_LARGE: { terminal: true, summary: 'An AdmissionReview body is larger than the size cap.' },
  KUBESCRIBE_ERR_GIT_AUTH: { terminal: false, summary: 'The Git remote refused the credentials.' },
  KUBESCRIBE_ERR_GIT_UNREACHABLE: { terminal: false, summary: 'The Git remote could not be reached.' },
  KUBESCRIBE_ERR_GIT_HOST_KEY_UNKNOWN: { terminal: false, summary: 'The SSH server\'s host key is not in known_hosts (never trusted on first use).' },
  KUBESCRIBE_ERR_GIT_HOST_KEY_MISMATCH: { terminal: false, summary: 'The SSH server presented a host key other than the one known_hosts holds for it.' },
  KUBESCRIBE_ERR_GIT_PUSH_REJECTED: { terminal: false, summary: 'The Git remote rejected a push.' },
  KUBESCRIBE_ERR_GIT_PUSH_TOO_LARGE: { terminal: false, summary: 'The Git remote or a proxy refused the size of a push request (HTTP 413); the push goes on in smaller rounds.' },
  KUBESCRIBE_ERR_GIT_REMOTE_ERROR: { terminal: false, summary: 'The Git remote answered with an ERR line (a refusal other than credentials).' },
  KUBESCRIBE_ERR_GIT_STORE_CORRUPT: { terminal: true, summary: 'The local Git object store is damaged (an object or a delta base is missing, or deltas form a cycle); the writer rebuilds it from a fresh clone.' },
  KUBESCRIBE_ERR_GIT_PATH_UNSAFE: { terminal: true, summary: 'An object name would map to a path outside its folder.' },
  KUBESCRIBE_ERR_GIT_SIGNING_KEY: { terminal: false, summary: 'Commit signing is on but its key is missing, encrypted without a passphrase, or not an OpenSSH/PEM (ed25519, RSA) or armored OpenPGP private key; nothing is committed until it is fixed.' },
  KUBESCRIBE_ERR_KUBE_API: { terminal: false, summary: 'The Kubernetes API answered with an error or went away.' },
  KUBESCRIBE_ERR_KUBE_TIMEOUT: { terminal: false, summary: 'A request to the Kubernetes API got no answer within its deadline.' },
  KUBESCRIBE_ERR_KUBE_WATCH_SILENT: { terminal: false, summary: 'A watch stream delivered nothing (no event, no bookmark) within its bound.' },
  KUBESCRIBE_ERR_LEADERSHIP_LOST: { terminal: true, summary: 'This replica could not renew its Lease in time and stopped writing.' },
  KUBESCRIBE_ERR_PEER_UNAUTHORIZED: { terminal: true, summary: 'A peer request came with a wrong or missing shared secret.' },
  KUBESCRIBE_ERR_PEER_MALFORMED: { terminal: true, summary: 'A peer request body is not a list of correlations.' },
  KUBESCRIBE_ERR_INTERNAL: { terminal: false, summary: 'An unexpected internal fault; the log line has the details.' },
  KUBESCRIBE_ERR_QUEUE_CLOSED: { terminal: true, summary: 'A change was offered to a queue that is shutting down.' },
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class KubescribeError extends Error {
  readonly code: ErrorCode;
  readonly terminal: boolean;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'KubescribeError';
    this.code = code;
    this.terminal = ErrorCodes[code].terminal;
  }
}

export function isTerminal(err: unknown): boolean {
  return err instanceof KubescribeError && err.terminal;
}
