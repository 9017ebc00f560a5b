/** A key prefix no other test (in this run or a concurrent one) uses, so tests can share one etcd. */
let counter = 0;

export function uniquePrefix(label = 'test'): string {
  const safe = label.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40);
  return `/goverse-test-${safe}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
}
