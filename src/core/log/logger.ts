/**
 * Structured logging. Records are JSON lines written to a sink chosen by the process edge: stderr for the node and
 * scripted commands, a file while the interactive console owns the screen, memory in tests.
 */
import { printableJson } from '../text/printable.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export type LogFields = Readonly<Record<string, unknown>>;

export interface LogRecord {
  readonly time: string;
  readonly level: LogLevel;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface LogSink {
  write(record: LogRecord): void;
}

export interface Logger {
  debug(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  error(msg: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every record. */
  child(fields: LogFields): Logger;
}

export function isLogLevel(s: string): s is LogLevel {
  return s in LEVEL_ORDER;
}

function normalize(value: unknown): unknown {
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message };
    if ('code' in value) out.code = (value as { code: unknown }).code;
    if (value.cause !== undefined) out.cause = normalize(value.cause);
    return out;
  }
  return value;
}

export function createLogger(sink: LogSink, level: LogLevel = 'info', base: LogFields = {}): Logger {
  const min = LEVEL_ORDER[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVEL_ORDER[lvl] < min) return;
    const record: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, msg, ...base };
    if (fields) for (const [k, v] of Object.entries(fields)) record[k] = normalize(v);
    sink.write(record as LogRecord);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(sink, level, { ...base, ...fields }),
  };
}

/**
 * Writes JSON lines to a writable stream (stderr, or a file stream). Records quote etcd values and peers' answers,
 * and a log is often read on a terminal: the lines are printableJson, the same records with terminal-safe escapes.
 */
export function streamSink(stream: NodeJS.WritableStream): LogSink {
  return { write: (record) => void stream.write(`${printableJson(JSON.stringify(record))}\n`) };
}

/** Keeps records in memory; tests assert on them. */
export class MemorySink implements LogSink {
  readonly records: LogRecord[] = [];
  write(record: LogRecord): void {
    this.records.push(record);
  }
  find(predicate: (r: LogRecord) => boolean): LogRecord | undefined {
    return this.records.find(predicate);
  }
}

export const nullLogger: Logger = createLogger({ write: () => {} }, 'error');
