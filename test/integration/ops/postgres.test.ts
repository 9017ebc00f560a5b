import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { describeWithPostgres } from '../../harness/postgresSuite.js';
import { POSTGRES_RUN_USER, postgresTool, startPostgres } from '../../harness/postgres.js';
import { childPids, isAlive, pidsWithCommandLine } from '../../harness/processes.js';

/** psql given only the connection URL, as a client of the harness connects. */
function psqlUrl(url: string, sql: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(postgresTool('psql'), ['-X', '-At', url, '-c', sql], { timeout: 30_000 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(stderr.trim() || err.message));
      else resolve(stdout.trim());
    });
  });
}

function uidOf(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('Uid:'));
  return Number(line?.split(/\s+/)[1]);
}

describeWithPostgres('a private PostgreSQL server', () => {
  it('answers psql at its URL with password auth, keeps its data over a restart and a crash, and leaves nothing behind', async () => {
    const pg = await startPostgres({ database: 'goverse_test', label: 'postgres' });
    let pids: number[] = [];
    try {
      expect(pg.url).toBe(`postgres://goverse:${pg.password}@127.0.0.1:${pg.port}/goverse_test`);
      expect(await psqlUrl(pg.url, 'select 1')).toBe('1');
      await expect(psqlUrl(pg.url.replace(pg.password, 'wrong'), 'select 1')).rejects.toThrow(/password authentication failed/);
      if (process.getuid?.() === 0) {
        expect(uidOf(pg.pid)).toBe(Number(execFileSync('id', ['-u', POSTGRES_RUN_USER]).toString()));
      }

      await pg.psql('create table t (v int); insert into t values (42)');
      const first = pg.pid;
      await pg.restart('fast');
      expect(pg.pid).not.toBe(first);
      expect(await psqlUrl(pg.url, 'select v from t')).toBe('42');

      // An immediate stop is a crash: the committed row survives through WAL recovery.
      await pg.psql('insert into t values (43)');
      await pg.restart('immediate');
      expect(await pg.psql('select sum(v) from t')).toBe('85');
      pids = [pg.pid, ...childPids(pg.pid)];
      expect(pids.length).toBeGreaterThan(1);
    } finally {
      await pg.close();
    }
    expect(pg.running).toBe(false);
    expect(pids.filter(isAlive)).toEqual([]);
    expect(pidsWithCommandLine(pg.dataDir)).toEqual([]);
    expect(existsSync(pg.dir)).toBe(false);
  });
});
