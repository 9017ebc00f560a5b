import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeCluster } from '../../harness/nodes.js';
import { JOB, startPrometheus } from '../../harness/prometheus.js';
import { pidsWithCommandLine } from '../../harness/processes.js';
import { waitFor } from '../../harness/waitFor.js';
import { RULES_FILE } from './rulesFile.js';

describe('a real Prometheus scraping real goverse-node processes', () => {
  let cluster: NodeCluster;

  beforeAll(async () => {
    cluster = await NodeCluster.start({ nodes: 0, numShards: 16, label: 'prometheus' });
    await cluster.addNodes(2, {}, false);
  });
  afterAll(async () => {
    await cluster?.close();
  });

  it('scrapes both nodes under their node addresses, evaluates the shipped rules, and stops leaving nothing', async () => {
    const prometheus = await startPrometheus({
      targets: cluster.nodes.map((n) => ({ address: `127.0.0.1:${n.opsPort}`, instance: n.address, labels: { cluster: cluster.prefix } })),
      ruleFiles: [RULES_FILE],
    });
    try {
      // Prometheus applies its targets on a 5 s tick: the nodes start meanwhile.
      await Promise.all(cluster.nodes.map((n) => n.start()));
      const targets = await prometheus.waitTargetsUp();
      expect(targets.map((t) => t.labels.instance).sort()).toEqual(cluster.nodes.map((n) => n.address).sort());

      const ready = await waitFor('goverse_node_ready scraped from both nodes', async () => {
        const samples = await prometheus.query('goverse_node_ready');
        return samples.length === 2 && samples;
      });
      for (const s of ready) {
        expect(s.metric.job).toBe(JOB);
        expect(s.metric.cluster).toBe(cluster.prefix);
      }

      // `instance` names the node: the one that says it leads is the leader etcd names.
      const leader = await waitFor('a leader in etcd', async () => (await cluster.snapshot()).leader?.address);
      const leading = await waitFor('one node scraped as the leader', async () => {
        const samples = await prometheus.query('goverse_node_is_leader == 1');
        return samples.length === 1 && samples[0]!.metric.instance;
      });
      expect(leading).toBe(leader);

      // Every rule of the shipped file loads and evaluates without an error against real series.
      const health = await waitFor('every rule evaluated', async () => {
        const data = (await prometheus.api('/api/v1/rules')) as {
          groups: { rules: { name: string; health: string; lastError?: string }[] }[];
        };
        const rules = data.groups.flatMap((g) => g.rules);
        return rules.length > 0 && rules.every((r) => r.health !== 'unknown') && rules;
      });
      expect(health.filter((r) => r.health !== 'ok')).toEqual([]);
    } finally {
      await prometheus.stop();
    }
    expect(prometheus.running).toBe(false);
    expect(pidsWithCommandLine(prometheus.configFile)).toEqual([]);
    expect(existsSync(prometheus.dir)).toBe(false);
  });
});
