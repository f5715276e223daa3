import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { describeRelative, formatInZone } from '../core/time.js';

export const VIEWS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../views');

export interface ViewRenderer {
  /** Renders `views/pages/<page>.hbs` inside `views/layouts/main.hbs`. */
  render(page: string, data: Record<string, unknown>): string;
}

export interface RendererOptions {
  viewsDir?: string;
  timezone: string;
  now: () => Date;
}

const GOOD_STATES = new Set(['approved', 'pilot_signed_off', 'completed', 'reviewed', 'verified', 'rebooted', 'installed', 'mitigated', 'not_applicable']);
const BAD_STATES = new Set(['rejected', 'halted', 'rolled_back', 'failed', 'reboot_failed']);
const WAITING_STATES = new Set(['awaiting_approval', 'awaiting_signoff', 'reboot_pending', 'deferred']);
const ACTIVE_STATES = new Set(['piloting', 'deploying', 'testing', 'verifying', 'dispatched']);

function stateTone(state: string): string {
  if (GOOD_STATES.has(state)) return 'good';
  if (BAD_STATES.has(state)) return 'bad';
  if (WAITING_STATES.has(state)) return 'wait';
  if (ACTIVE_STATES.has(state)) return 'active';
  return 'neutral';
}

/** Only http(s) and same-site paths become links: a feed could put `javascript:` in an advisory URL. */
export function safeHref(value: unknown): string | null {
  if (typeof value !== 'string' || value.length === 0) return null;
  if (value.startsWith('/') && !value.startsWith('//') && !value.includes('\\')) return value;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.toString() : null;
  } catch {
    return null;
  }
}

/**
 * Compiles the layout, partials and pages once, with an isolated Handlebars instance. Templates use
 * `{{ }}` (escaped) for every value; the only `{{{ }}}` is the layout's `body`, which is rendered HTML.
 */
export function createViewRenderer(options: RendererOptions): ViewRenderer {
  const dir = options.viewsDir ?? VIEWS_DIR;
  const hbs = Handlebars.create();
  const escape = (value: unknown) => hbs.Utils.escapeExpression(String(value));
  const compile = (file: string) => hbs.compile(readFileSync(file, 'utf8'), { strict: false, preventIndent: true });
  const templatesIn = (sub: string) =>
    readdirSync(path.join(dir, sub))
      .filter((f) => f.endsWith('.hbs'))
      .map((f) => ({ name: f.slice(0, -'.hbs'.length), file: path.join(dir, sub, f) }));

  for (const { name, file } of templatesIn('partials')) hbs.registerPartial(name, readFileSync(file, 'utf8'));
  const layout = compile(path.join(dir, 'layouts', 'main.hbs'));
  const pages = new Map(templatesIn('pages').map(({ name, file }) => [name, compile(file)]));

  const isIso = (value: unknown): value is string => typeof value === 'string' && !Number.isNaN(Date.parse(value));
  hbs.registerHelper('formatTime', (value: unknown) => (isIso(value) ? formatInZone(value, options.timezone) : '—'));
  hbs.registerHelper('relativeTime', (value: unknown) => (isIso(value) ? describeRelative(value, options.now()) : ''));
  hbs.registerHelper('isPast', (value: unknown) => isIso(value) && Date.parse(value) < options.now().getTime());
  hbs.registerHelper('severityBadge', (severity: unknown) => {
    const text = typeof severity === 'string' && severity !== '' ? severity : 'unknown';
    return new hbs.SafeString(`<span class="badge sev-${escape(text)}">${escape(text)}</span>`);
  });
  hbs.registerHelper('stateBadge', (state: unknown) => {
    const text = typeof state === 'string' ? state : 'unknown';
    return new hbs.SafeString(`<span class="badge state-${stateTone(text)}">${escape(text.replaceAll('_', ' '))}</span>`);
  });
  hbs.registerHelper('humanize', (value: unknown) => (typeof value === 'string' ? value.replaceAll('_', ' ') : ''));
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hbs.registerHelper('safeHref', (value: unknown) => safeHref(value));
  hbs.registerHelper('plural', (count: unknown, noun: unknown) => {
    const n = Number(count);
    return `${n} ${String(noun)}${n === 1 ? '' : 's'}`;
  });
  hbs.registerHelper('join', (list: unknown, separator: unknown) =>
    Array.isArray(list) ? list.map(String).join(typeof separator === 'string' ? separator : ', ') : '',
  );

  return {
    render(page, data) {
      const template = pages.get(page);
      if (!template) throw new Error(`no view named ${page}`);
      const body = template(data);
      return layout({ ...data, body, timezone: options.timezone });
    },
  };
}
