/** SDP of the built-in endpoint (RFC 3264 offer/answer) and its settings from options. */
import { describe, expect, it } from 'vitest';
import { answerSdp, EndpointOrigin, offerSdp, readAnswer } from '../../../src/media/builtin/media-sdp.js';
import { mediaSettingsFromOptions, parsePortRange } from '../../../src/media/builtin/settings.js';
import { MediaNegotiationError } from '../../../src/media/media-server.js';
import { parseSdp } from '../../../src/media/sdp.js';

const offer = (m: string, extra: string[] = [], c = '203.0.113.5'): string =>
  ['v=0', 'o=peer 9 9 IN IP4 203.0.113.5', 's=-', `c=IN IP4 ${c}`, 't=0 0', m, ...extra, ''].join('\r\n');

describe('built-in endpoint SDP', () => {
  const origin = new EndpointOrigin('127.0.0.1');

  it('offers PCMU, PCMA, telephone-event 0-16, ptime 20, sendrecv on our address and port', () => {
    const s = parseSdp(offerSdp(origin.next(), '127.0.0.1', 20000));
    expect(s.connection).toEqual({ version: 4, ip: '127.0.0.1' });
    expect(s.origin.address).toBe('127.0.0.1');
    const m = s.media[0];
    expect([m.port, m.protocol, m.payloads, m.ptime, m.direction]).toEqual([
      20000,
      'RTP/AVP',
      '0 8 101',
      20,
      'sendrecv',
    ]);
    expect(m.rtp.map((r) => `${r.payload} ${r.codec}/${r.rate}`)).toEqual([
      '0 PCMU/8000',
      '8 PCMA/8000',
      '101 telephone-event/8000',
    ]);
    expect(m.fmtp).toEqual([{ payload: 101, config: '0-16' }]);
  });

  it('answers with the first G.711 codec in the offer order and keeps its telephone-event number', () => {
    const { sdp, negotiated } = answerSdp(
      offer('m=audio 4000 RTP/AVP 18 8 0 96', ['a=rtpmap:18 G729/8000', 'a=rtpmap:96 telephone-event/8000']),
      origin.next(),
      '127.0.0.1',
      20002,
    );
    const m = parseSdp(sdp).media[0];
    expect(m.payloads).toBe('8 96');
    expect(m.port).toBe(20002);
    expect(negotiated).toEqual({
      remoteIp: '203.0.113.5',
      remotePort: 4000,
      payloadType: 8,
      telephoneEventPt: 96,
      sending: true,
    });
  });

  it('rejects other streams with port 0 and answers hold offers with the matching direction', () => {
    const two = offer('m=video 5000 RTP/AVP 96', ['a=rtpmap:96 H264/90000', 'm=audio 4000 RTP/AVP 0', 'a=sendonly']);
    const { sdp, negotiated } = answerSdp(two, origin.next(), '127.0.0.1', 20004);
    const s = parseSdp(sdp);
    expect(s.media.map((m) => [m.type, m.port])).toEqual([
      ['video', 0],
      ['audio', 20004],
    ]);
    expect(s.media[1].direction).toBe('recvonly');
    expect(negotiated.sending).toBe(false);
    const inactive = answerSdp(offer('m=audio 4000 RTP/AVP 0', ['a=inactive']), origin.next(), '127.0.0.1', 1);
    expect(parseSdp(inactive.sdp).media[0].direction).toBe('inactive');
    const recvonly = answerSdp(offer('m=audio 4000 RTP/AVP 0', ['a=recvonly']), origin.next(), '127.0.0.1', 1);
    expect(parseSdp(recvonly.sdp).media[0].direction).toBe('sendonly');
    expect(recvonly.negotiated.sending).toBe(true);
    const blackHole = answerSdp(offer('m=audio 4000 RTP/AVP 0', [], '0.0.0.0'), origin.next(), '127.0.0.1', 1);
    expect(blackHole.negotiated).toMatchObject({ remoteIp: undefined, sending: false });
  });

  it('keeps one origin and increments its version per SDP (RFC 3264 §8)', () => {
    const o = new EndpointOrigin('127.0.0.1');
    const a = o.next();
    const b = o.next();
    expect(b.sessionId).toBe(a.sessionId);
    expect(Number(b.sessionVersion)).toBe(Number(a.sessionVersion) + 1);
  });

  it('reads an answer; bad SDP is a MediaNegotiationError', () => {
    expect(readAnswer(offer('m=audio 4002 RTP/AVP 0'))).toMatchObject({
      payloadType: 0,
      remotePort: 4002,
      sending: true,
    });
    const bad = [
      'not sdp',
      offer('m=audio 0 RTP/AVP 0'),
      offer('m=audio 4000 RTP/AVP 18'),
      offer('m=video 4000 RTP/AVP 31'),
    ];
    for (const text of bad) {
      expect(() => readAnswer(text)).toThrow(MediaNegotiationError);
      expect(() => answerSdp(text, origin.next(), '127.0.0.1', 1)).toThrow(MediaNegotiationError);
    }
  });
});

describe('media settings', () => {
  it('reads rtp-port-range', () => {
    expect(parsePortRange('20000-29999')).toEqual({ min: 20000, max: 29999 });
    for (const bad of ['20000', '29999-20000', '80-1000', '20000-70000', '20001-20001', 'a-b']) {
      expect(parsePortRange(bad)).toBeUndefined();
    }
  });

  it('takes the SDP address from media-address, else the first SIP listen host; binds to that host', () => {
    const def = mediaSettingsFromOptions({}, ['udp:127.0.0.2:5060']);
    expect(def).toEqual({
      bindAddress: '127.0.0.2',
      mediaAddress: '127.0.0.2',
      portMin: 20000,
      portMax: 29999,
      ringbackTone: 'us',
      musicFile: undefined,
    });
    const set = mediaSettingsFromOptions(
      {
        'media-address': '203.0.113.9',
        'rtp-port-range': '40000-40099',
        'ringback-tone': 'uk',
        'music-on-hold-file': '/m.wav',
      },
      ['udp:0.0.0.0:5060'],
    );
    expect(set).toMatchObject({
      bindAddress: '0.0.0.0',
      mediaAddress: '203.0.113.9',
      portMin: 40000,
      ringbackTone: 'uk',
      musicFile: '/m.wav',
    });
    expect(mediaSettingsFromOptions({}, ['udp:0.0.0.0:5060']).mediaAddress).not.toBe('0.0.0.0');
    expect(() => mediaSettingsFromOptions({ 'rtp-port-range': '5-6' }, [])).toThrow(/rtp-port-range/);
    expect(() => mediaSettingsFromOptions({ 'ringback-tone': 'fr' }, [])).toThrow(/ringback-tone/);
  });
});
