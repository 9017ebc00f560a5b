import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildProgram } from '../../../src/cli/program.js';
import { parsePrometheusText } from '../../../src/core/metrics/textFormat.js';
import { NodeCluster } from '../../harness/nodes.js';
import { PROMTOOL_BIN } from '../../harness/prometheus.js';
import { waitFor } from '../../harness/waitFor.js';
import { commandLineProblem, loadAlertRules, RULES_DIR, RULES_FILE, RULES_TEST_FILE, runbookCommands, selectorsOf } from './rulesFile.js';

/** Metrics the rules use that a goverse-node does not export itself, and why. */
const NOT_FROM_A_NODE: ReadonlyMap<string, string> = new Map([['up', 'Prometheus records it for every target it scrapes']]);

function promtool(args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(PROMTOOL_BIN, args, { cwd: RULES_DIR, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: `${stdout}${stderr}${err !== null && code === -1 ? err.message : ''}` });
    });
  });
}

interface RuleTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const alerts = loadAlertRules();

describe('the shipped alert rules', () => {
  it('pass promtool check rules', async () => {
    const { code, output } = await promtool(['check', 'rules', RULES_FILE]);
    expect(output).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(code).toBe(0);
  });

  it('pass their unit tests (promtool test rules)', async () => {
    const { code, output } = await promtool(['test', 'rules', RULES_TEST_FILE]);
    expect(code, output).toBe(0);
  });

  it('are each tested firing, and all tested silent on a healthy cluster', () => {
    const file = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as RuleTestFile;
    const checks = file.tests.flatMap((t) => (t.alert_rule_test ?? []).map((c) => ({ test: t.name, ...c })));
    const firing = new Set(checks.filter((c) => (c.exp_alerts ?? []).length > 0).map((c) => c.alertname));
    const healthy = file.tests.find((t) => t.name === 'a healthy cluster raises nothing');
    const silent = new Set((healthy?.alert_rule_test ?? []).filter((c) => (c.exp_alerts ?? []).length === 0).map((c) => c.alertname));
    const names = alerts.map((a) => a.alert).sort();
    expect(names.filter((n) => !firing.has(n))).toEqual([]);
    expect(names.filter((n) => !silent.has(n))).toEqual([]);
  });

  it('each carry a severity, a summary and a runbook naming goverse-top commands that exist', () => {
    const program = buildProgram();
    for (const a of alerts) {
      expect(['critical', 'warning'], a.alert).toContain(a.labels.severity);
      expect(a.annotations.summary, a.alert).toBeTruthy();
      const commands = runbookCommands(a.annotations.runbook ?? '');
      expect(commands.length, `${a.alert}: no goverse-top command in its runbook`).toBeGreaterThan(0);
      for (const line of commands) expect(commandLineProblem(program, line), a.alert).toBeNull();
    }
  });

  it('catch a runbook command the CLI does not have', () => {
    const program = buildProgram();
    expect(commandLineProblem(program, 'goverse-top stuck')).toBeNull();
    expect(commandLineProblem(program, 'goverse-top rebalance plan')).toBeNull();
    expect(commandLineProblem(program, 'goverse-top shards --node <address> --state unclaimed')).toBeNull();
    expect(commandLineProblem(program, 'goverse-top stuk')).toMatch(/takes 0 arguments/);
    expect(commandLineProblem(program, 'goverse-top stuck --shard 5')).toMatch(/no option --shard/);
    expect(commandLineProblem(program, 'goverse-top release')).toMatch(/needs 1 arguments/);
  });
});

describe('the metrics the alert rules use', () => {
  let cluster: NodeCluster;

  beforeAll(async () => {
    cluster = await NodeCluster.start({ nodes: 1, numShards: 8, label: 'rules' });
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('are all exported by a real goverse-node, with the label values the rules select', async () => {
    const selectors = alerts.flatMap((a) => selectorsOf(a.expr).map((s) => ({ alert: a.alert, ...s })));
    const used = new Set(selectors.map((s) => s.metric));
    // The parser must have found what the rules use, or this test would pass on nothing.
    expect(used.has('goverse_shards_stuck') && used.has('goverse_node_fenced') && used.has('up')).toBe(true);
    expect([...NOT_FROM_A_NODE.keys()].filter((m) => !used.has(m))).toEqual([]);

    const node = cluster.node(0);
    let missing: string[] = [];
    await waitFor(
      'the node to export every family and label value the rules use',
      async () => {
        // Families are declared by their TYPE line even before they have samples.
        const families = parsePrometheusText(await node.metrics());
        missing = selectors
          .filter((s) => !NOT_FROM_A_NODE.has(s.metric))
          .filter((s) => {
            const family = families.get(s.metric);
            if (family === undefined) return true;
            const wanted = Object.entries(s.matchers);
            return wanted.length > 0 && !family.samples.some((x) => wanted.every(([k, v]) => x.labels[k] === v));
          })
          .map((s) => `${s.alert}: ${s.metric}${JSON.stringify(s.matchers)}`);
        return missing.length === 0;
      },
      { timeoutMs: 20_000, intervalMs: 100, describe: () => missing.join('; ') },
    );
  });
});
