import { describe, expect, it } from 'vitest';
import { ConnIdGenerator } from '../../../../src/contact-center/calls/conn-id-generator.js';
import { Call, CallLeg, LegState } from '../../../../src/contact-center/calls/call.js';
import { failureStatus } from '../../../../src/contact-center/calls/b2bua.js';
import { SdpOriginKeeper } from '../../../../src/media/sdp-origin-keeper.js';
import {
  blackHoleSdp,
  directionOf,
  holdSdp,
  noMediaOffer,
  parseSdp,
  rejectAllAnswer,
  resumeSdp,
} from '../../../../src/media/sdp.js';

const SDP_A =
  'v=0\r\no=alice 100 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n';
const SDP_B =
  'v=0\r\no=bob 7 3 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 5000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n';

describe('ConnIdGenerator', () => {
  it('gives 16 hex digits, unique', () => {
    const g = new ConnIdGenerator(Buffer.from('0102030405ff', 'hex'));
    const ids = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const id = g.next();
      expect(id).toMatch(/^[0-9a-f]{16}$/);
      ids.add(id);
    }
    expect(ids.size).toBe(10_000);
    expect(new ConnIdGenerator(Buffer.from('aaaaaaaaaaaa', 'hex')).next().slice(0, 6)).toBe('aaaaaa');
  });
});

describe('Call model', () => {
  it('finds the other live party and the leg of a DN', () => {
    const call = new Call('00000000000000a1', 'Inbound', '5551234', '5000', 0);
    const a = call.add(new CallLeg(undefined, '5551234', 'in'));
    const b = call.add(new CallLeg('7001', '7001', 'out'));
    expect(call.other(a)).toBe(b);
    expect(call.legOfDn('7001')).toBe(b);
    b.state = LegState.Released;
    expect(call.other(a)).toBeUndefined();
    expect(call.legOfDn('7001')).toBeUndefined();
    expect(call.liveLegs).toEqual([a]);
  });
});

describe('failureStatus: what the caller is answered when the callee fails', () => {
  it('relays rejections, maps timeouts and transport errors (RFC 3261 §8.1.3.1)', () => {
    expect(failureStatus({ kind: 'timeout' })).toEqual({ status: 408, reason: 'Request Timeout' });
    expect(failureStatus({ kind: 'transport-error' })).toEqual({ status: 503, reason: 'Service Unavailable' });
    expect(failureStatus({ kind: 'no-answer' }).status).toBe(480);
    expect(failureStatus({ kind: 'unreachable', reason: 'x' }).status).toBe(480);
  });
});

describe('SDP helpers (RFC 3264, RFC 3725)', () => {
  it('origin keeper: first SDP unchanged, later ones keep the first origin with version + 1 (RFC 3264 §8)', () => {
    const k = new SdpOriginKeeper();
    expect(k.adapt(SDP_A)).toBe(SDP_A);
    expect(k.adapt(SDP_A)).toBe(SDP_A);
    const second = parseSdp(k.adapt(SDP_B));
    expect(second.origin.username).toBe('alice');
    expect(String(second.origin.sessionId)).toBe('100');
    expect(second.origin.sessionVersion).toBe(2);
    expect(second.media[0]!.port).toBe(5000);
    const third = parseSdp(k.adapt(SDP_A));
    expect(third.origin.sessionVersion).toBe(3);
  });

  it('hold offer is sendonly, resume is sendrecv (RFC 3264 §8.4)', () => {
    expect(directionOf(holdSdp(SDP_B))).toBe('sendonly');
    expect(directionOf(resumeSdp(holdSdp(SDP_B)))).toBe('sendrecv');
    expect(directionOf(holdSdp(SDP_B.replace('a=sendrecv', 'a=recvonly')))).toBe('inactive');
  });

  it('black hole: every connection address 0.0.0.0, codecs kept (RFC 3725 §4)', () => {
    const s = parseSdp(blackHoleSdp(SDP_A));
    expect(s.connection?.ip).toBe('0.0.0.0');
    expect(s.media[0]!.rtp.map((r) => r.codec)).toEqual(['PCMU', 'PCMA']);
  });

  it('reject-all answer has port 0 per offered stream (RFC 3264 §6)', () => {
    const s = parseSdp(rejectAllAnswer(SDP_A));
    expect(s.media).toHaveLength(1);
    expect(s.media[0]!.port).toBe(0);
  });

  it('no-media offer of Flow IV: c=0.0.0.0, inactive', () => {
    const s = parseSdp(noMediaOffer());
    expect(s.connection?.ip).toBe('0.0.0.0');
    expect(s.media[0]!.direction).toBe('inactive');
  });
});
