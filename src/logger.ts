// The process's logger, built the same way on the main thread and on the webhook's thread: one
// JSON line an event on stdout, credentials redacted.
import pino, { type Logger } from 'pino';

export function createLogger(level?: string): Logger {
  return pino({ name: 'kubescribe', ...(level ? { level } : {}), redact: { paths: ['password', '*.password', 'authorization', '*.authorization'], censor: '[redacted]' } });
}
