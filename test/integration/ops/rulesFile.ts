/** Reading the shipped alert rules for the tests: the alerts, the metrics their expressions use, their runbooks. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { parse } from 'yaml';

export const RULES_DIR = fileURLToPath(new URL('../../../ops/prometheus/', import.meta.url));
export const RULES_FILE = `${RULES_DIR}goverse-rules.yml`;
export const RULES_TEST_FILE = `${RULES_DIR}goverse-rules.test.yml`;

export interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export function loadAlertRules(): AlertRule[] {
  const doc = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return doc.groups.flatMap((g) => g.rules);
}

/** A selector's equality matchers, e.g. `goverse_shard_imbalance{stat="max_over_ideal"}`. */
export interface Selector {
  readonly metric: string;
  readonly matchers: Readonly<Record<string, string>>;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset']);

/**
 * The metric selectors of a PromQL expression, for the subset of PromQL the rules use: grouping and matching clauses,
 * ranges, offsets and string literals are dropped, and what is left of the identifiers is a metric name unless it
 * calls (a function or an aggregation) or is a binary keyword.
 */
export function selectorsOf(expr: string): Selector[] {
  const selectors: Selector[] = [];
  const rest = expr
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\boffset\s+\w+/g, ' ')
    .replace(/([A-Za-z_:][\w:]*)?\s*\{([^}]*)\}/g, (_m, name: string | undefined, body: string) => {
      if (name === undefined) throw new Error(`a selector without a metric name in ${expr}`);
      const matchers: Record<string, string> = {};
      for (const m of body.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) matchers[m[1]!] = m[2]!;
      selectors.push({ metric: name, matchers });
      return ' ';
    });
  for (const m of rest.matchAll(/\b([A-Za-z_:][\w:]*)\b(\s*\()?/g)) {
    if (m[2] === undefined && !KEYWORDS.has(m[1]!)) selectors.push({ metric: m[1]!, matchers: {} });
  }
  return selectors;
}

/** The goverse-top command lines a runbook names, in backquotes: `goverse-top stuck`. */
export function runbookCommands(runbook: string): string[] {
  return [...runbook.matchAll(/`(goverse-top(?: [^`]*)?)`/g)].map((m) => m[1]!);
}

/**
 * Why a command line would not parse, or null: its subcommands, options (with their values) and the number of
 * arguments are checked against the CLI's commander program. `<placeholders>` count as values.
 */
export function commandLineProblem(program: Command, line: string): string | null {
  const words = line.split(/\s+/).slice(1);
  let cmd = program;
  let i = 0;
  for (; i < words.length; i++) {
    const sub = cmd.commands.find((c) => c.name() === words[i]);
    if (sub === undefined) break;
    cmd = sub;
  }
  let args = 0;
  for (; i < words.length; i++) {
    const word = words[i]!;
    if (!word.startsWith('-')) {
      args++;
      continue;
    }
    const option = cmd.options.find((o) => o.long === word || o.short === word);
    if (option === undefined) return `${line}: ${cmd.name()} has no option ${word}`;
    if (option.required || option.optional) i++;
  }
  const expected = cmd.registeredArguments;
  if (args > expected.length) return `${line}: ${cmd.name()} takes ${expected.length} arguments, not ${args}`;
  const required = expected.filter((a) => a.required).length;
  if (args < required) return `${line}: ${cmd.name()} needs ${required} arguments`;
  return null;
}
