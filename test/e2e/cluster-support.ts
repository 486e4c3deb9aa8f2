/** What the cluster end-to-end tests share: cluster-up.sh's node lines and the processes it left. */
import { readFileSync, readdirSync } from 'node:fs';

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
