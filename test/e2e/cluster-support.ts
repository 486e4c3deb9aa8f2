/** What the cluster end-to-end tests share: cluster-up.sh's node lines and the processes it left. */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CtiTestClient, type CtiFrame } from '../helpers/cti-client.js';
import { repoRoot } from '../helpers/paths.js';
import { runSipp } from '../helpers/sipp.js';
import { waitFor } from '../helpers/wait.js';

/** One node as cluster-up.sh prints it. */
export interface ClusterNode {
  k: number;
  sipPort: number;
  http: string;
  pid: number;
}

/** `node K sip udp:127.0.0.1:P http http://127.0.0.1:Q pid X` lines of cluster-up.sh. */
export function parseNodes(stdout: string): ClusterNode[] {
  const nodes: ClusterNode[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^node (\d+) sip udp:127\.0\.0\.1:(\d+) http (http:\/\/127\.0\.0\.1:\d+) pid (\d+)$/.exec(line);
    if (m) nodes.push({ k: Number(m[1]), sipPort: Number(m[2]), http: m[3]!, pid: Number(m[4]) });
  }
  return nodes;
}

/**
 * PIDs of live (not zombie) processes whose command line names `dir`, and their children (nginx's
 * workers rename themselves).
 */
export function processesNaming(dir: string): number[] {
  const naming = new Set<number>();
  const parent = new Map<number, number>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8').split(') ')[1]!.split(' ');
      if (stat[0] === 'Z') continue;
      parent.set(Number(e), Number(stat[2]));
      if (cmd.includes(dir)) naming.add(Number(e));
    } catch {
      /* gone meanwhile */
    }
  }
  return [...parent.keys()].filter((pid) => naming.has(pid) || naming.has(parent.get(pid)!));
}

export const gone = (pid: number): boolean => {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
  } catch {
    return true;
  }
};

/** A CTI frame as a test saw it: arrival time and the node whose connection delivered it. */
export interface Seen {
  at: number;
  node: number;
  f: CtiFrame;
}

/**
 * One application-scope CTI connection to `node` (admin `token`), registered on every DN of `dns`;
 * every frame it receives is pushed to `seen`. The client is added to `clients` (to close).
 */
export async function openCtiRecorder(o: {
  node: ClusterNode;
  token: string;
  dns: readonly string[];
  seen: Seen[];
  clients: CtiTestClient[];
  timeoutMs?: number;
}): Promise<CtiTestClient> {
  const c = await CtiTestClient.connect(`${o.node.http.replace('http', 'ws')}/cti`, 10_000);
  o.clients.push(c);
  c.ws.on('message', (d) => {
    try {
      o.seen.push({ at: Date.now(), node: o.node.k, f: JSON.parse(d.toString()) as CtiFrame });
    } catch {
      /* not JSON: the client records it */
    }
  });
  const opened = await c.request('RequestOpen', { token: o.token }, 10_000);
  if (opened.event !== 'EventOpened') throw new Error(`RequestOpen on node ${o.node.k}: ${JSON.stringify(opened)}`);
  for (const dn of o.dns) c.send('RequestRegisterAddress', { thisDN: dn });
  await waitFor(() => c.events.filter((f) => f.event === 'EventRegistered').length === o.dns.length, {
    what: `${o.dns.length} DNs registered on node ${o.node.k}`,
    timeoutMs: o.timeoutMs ?? 10_000,
  });
  return c;
}

/**
 * Registers `count` phones through `sipPort` with digest (SIPp over an injection list: DN
 * `dnOf(i)`, password `pw-i`), `rate` a second; resolves with SIPp's result.
 */
export async function registerPhones(o: {
  dir: string;
  sipPort: number;
  count: number;
  dnOf: (i: number) => string;
  rate: number;
  limit: number;
  timeoutMs: number;
}): Promise<Awaited<ReturnType<typeof runSipp>>> {
  const inf = join(o.dir, 'phones.csv');
  writeFileSync(
    inf,
    [
      'SEQUENTIAL',
      ...Array.from(
        { length: o.count },
        (_, i) => `${o.dnOf(i)};[authentication username=${o.dnOf(i)} password=pw-${i}]`,
      ),
    ].join('\n') + '\n',
  );
  return runSipp({
    scenario: join(repoRoot, 'bench/helpers/register-inf.xml'),
    target: `127.0.0.1:${o.sipPort}`,
    calls: o.count,
    rate: o.rate,
    limit: o.limit,
    args: ['-inf', inf],
    timeoutMs: o.timeoutMs,
  });
}
