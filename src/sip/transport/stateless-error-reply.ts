/**
 * Error responses to requests the parser refused (RFC 3261 §8.2, §16.3 for 400/505/...),
 * built from the raw header lines, since the message did not parse.
 */

const WANTED: Record<string, string> = {
  via: 'Via',
  v: 'Via',
  from: 'From',
  f: 'From',
  to: 'To',
  t: 'To',
  'call-id': 'Call-ID',
  i: 'Call-ID',
  cseq: 'CSeq',
};

/**
 * Build `SIP/2.0 <status>` for a malformed request from its raw bytes, copying Via, From,
 * To (adding a tag when missing, RFC 3261 §8.2.6.2), Call-ID and CSeq as written. Returns
 * undefined when the bytes are not a request or lack one of those headers (then the message
 * is dropped, as a response could not be routed or matched by the client).
 */
export function buildRawErrorResponse(raw: Buffer, status: number, reason: string, toTag: string): Buffer | undefined {
  const end = raw.indexOf('\r\n\r\n');
  const headText = raw.subarray(0, end < 0 ? Math.min(raw.length, 65_536) : end).toString('latin1');
  const lines = headText.split(/\r?\n/);
  const first = lines[0] ?? '';
  if (first.startsWith('SIP/') || !/^[!-~]+ .* SIP\/\d+\.\d+\s*$/i.test(first)) return undefined;
  const found: Record<string, string[]> = {};
  let last: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') break;
    if ((line[0] === ' ' || line[0] === '\t') && last !== undefined) {
      const arr = found[last];
      if (arr && arr.length > 0) arr[arr.length - 1] += ' ' + line.trim();
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      last = undefined;
      continue;
    }
    const name = WANTED[line.slice(0, colon).trim().toLowerCase()];
    last = name;
    if (!name) continue;
    (found[name] ??= []).push(line.slice(colon + 1).trim());
  }
  for (const n of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) if (!found[n] || found[n].length === 0) return undefined;
  if (found['Call-ID']!.length > 1 || found['CSeq']!.length > 1 || found['From']!.length > 1 || found['To']!.length > 1)
    return undefined;
  let to = found['To']![0]!;
  if (!/;\s*tag\s*=/i.test(to)) to += `;tag=${toTag}`;
  const out = [`SIP/2.0 ${status} ${reason}`];
  for (const v of found['Via']!) out.push(`Via: ${v}`);
  out.push(`From: ${found['From']![0]}`, `To: ${to}`, `Call-ID: ${found['Call-ID']![0]}`, `CSeq: ${found['CSeq']![0]}`);
  out.push('Content-Length: 0', '', '');
  return Buffer.from(out.join('\r\n'), 'latin1');
}
