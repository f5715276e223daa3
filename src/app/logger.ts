import { pino, type Logger } from 'pino';

/** JSON logs to stderr, so CLI output on stdout stays machine-readable. */
export function createLogger(level: string = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'patchdeck' } }, pino.destination(2));
}

export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
