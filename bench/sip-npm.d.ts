/** Minimal typings of the npm package `sip` (benchmark reference only, bench/parse.bench.ts). */
declare module 'sip' {
  /** A message as the `sip` package represents it. */
  export interface NpmSipMessage {
    method?: string;
    uri?: string;
    status?: number;
    reason?: string;
    headers: Record<string, unknown>;
    content?: string;
  }
  const sip: {
    parse(text: string): NpmSipMessage | undefined;
    stringify(msg: NpmSipMessage): string;
  };
  export default sip;
}
