import Table from 'cli-table3';
import { printable, printableJson } from '../core/text/printable.js';

/** The JSON contract version of every `-o json` document. */
export const SCHEMA_VERSION = 1;

export type OutputFormat = 'table' | 'json';

/**
 * Where scripted subcommands write. Never Ink: plain text, cli-table3 tables (unstyled when colour is off, since
 * cli-table3 colours its borders and headers even when piped) or JSON documents. Lines, notes and table cells carry
 * strings from etcd and the nodes, so every one is shown `printable` here (one line each: a newline is escaped too);
 * JSON keeps every string exact.
 */
export class Output {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly err: NodeJS.WritableStream,
    readonly format: OutputFormat,
    readonly color: boolean,
  ) {}

  static forProcess(format: OutputFormat, noColorFlag: boolean): Output {
    const color = !noColorFlag && !process.env.NO_COLOR && process.stdout.isTTY === true;
    return new Output(process.stdout, process.stderr, format, color);
  }

  line(text = ''): void {
    this.out.write(`${printable(text)}\n`);
  }

  /** Diagnostics and progress: stderr, so stdout stays parseable. */
  note(text: string): void {
    this.err.write(`${printable(text)}\n`);
  }

  json(doc: Record<string, unknown>): void {
    this.out.write(`${printableJson(JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...doc }, null, 2))}\n`);
  }

  /** One compact document per line (NDJSON), for streams such as `watch -o json`. */
  jsonLine(doc: Record<string, unknown>): void {
    this.out.write(`${printableJson(JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...doc }))}\n`);
  }

  table(head: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): void {
    const table = new Table({
      head: [...head],
      style: this.color ? { head: ['cyan'], border: ['grey'], compact: true } : { head: [], border: [], compact: true },
    });
    for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : printable(String(c)))));
    // Written as it is: its lines and its colours are cli-table3's own, every cell is printable.
    this.out.write(`${table.toString()}\n`);
  }
}
