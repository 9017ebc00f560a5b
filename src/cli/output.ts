import Table from 'cli-table3';

/** The JSON contract version of every `-o json` document. */
export const SCHEMA_VERSION = 1;

export type OutputFormat = 'table' | 'json';

/**
 * Where scripted subcommands write. Never Ink: plain text, cli-table3 tables (unstyled when colour is off, since
 * cli-table3 colours its borders and headers even when piped) or JSON documents.
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
    this.out.write(`${text}\n`);
  }

  /** Diagnostics and progress: stderr, so stdout stays parseable. */
  note(text: string): void {
    this.err.write(`${text}\n`);
  }

  json(doc: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...doc }, null, 2)}\n`);
  }

  /** One compact document per line (NDJSON), for streams such as `watch -o json`. */
  jsonLine(doc: Record<string, unknown>): void {
    this.out.write(`${JSON.stringify({ schemaVersion: SCHEMA_VERSION, ...doc })}\n`);
  }

  table(head: readonly string[], rows: readonly (readonly (string | number | null | undefined)[])[]): void {
    const table = new Table({
      head: [...head],
      style: this.color ? { head: ['cyan'], border: ['grey'], compact: true } : { head: [], border: [], compact: true },
    });
    for (const row of rows) table.push(row.map((c) => (c === null || c === undefined ? '' : String(c))));
    this.line(table.toString());
  }

  /** Emphasis that degrades to plain text without colour. */
  paint(text: string, code: 'red' | 'green' | 'yellow' | 'bold' | 'dim'): string {
    if (!this.color) return text;
    const codes = { red: [31, 39], green: [32, 39], yellow: [33, 39], bold: [1, 22], dim: [2, 22] } as const;
    const [open, close] = codes[code];
    return `\u001b[${open}m${text}\u001b[${close}m`;
  }
}
