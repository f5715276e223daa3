import type { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import { PatchdeckError } from '../core/errors.js';

export const LOG_FORMATS = ['json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export interface LoggerOptions {
  level?: string;
  /** `json` for log collectors; `pretty` (one readable line per event) for a person at a terminal. */
  format?: LogFormat;
  /** Where the lines go; stderr by default, so CLI output on stdout stays machine-readable. */
  destination?: Writable;
}

/** Logs to stderr: JSON by default, readable lines with `format: 'pretty'`. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const settings = { level: options.level ?? process.env.LOG_LEVEL ?? 'info', base: { app: 'patchdeck' } };
  if (options.format === 'pretty') {
    const stream = pinoPretty({ destination: options.destination ?? 2, sync: true, colorize: false, singleLine: true, ignore: 'pid,hostname,app', translateTime: 'SYS:HH:MM:ss' });
    return pino(settings, stream);
  }
  return pino(settings, options.destination ?? pino.destination(2));
}

/**
 * The log format a CLI run uses: `PATCHDECK_LOG_FORMAT` when set (json or pretty), else readable
 * lines when stderr is a terminal and JSON when it is a file or a pipe.
 */
export function chooseLogFormat(env: Record<string, string | undefined>, stderrIsTty: boolean): LogFormat {
  const wanted = env.PATCHDECK_LOG_FORMAT;
  if (wanted === undefined || wanted === '') return stderrIsTty ? 'pretty' : 'json';
  if (wanted === 'json' || wanted === 'pretty') return wanted;
  throw new PatchdeckError('PD_CONFIG_LOG_FORMAT', `PATCHDECK_LOG_FORMAT must be json or pretty (got "${wanted}")`);
}

export function createSilentLogger(): Logger {
  return pino({ level: 'silent' });
}
