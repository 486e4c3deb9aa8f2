import { describe, expect, it } from 'vitest';
import { SipRequestMessage } from '../../../../src/sip/message/sip-request-message.js';
import { SipResponseMessage } from '../../../../src/sip/message/sip-response-message.js';
import type { HeaderField } from '../../../../src/sip/message/types.js';
import { Dialog, DialogError } from '../../../../src/sip/dialog/dialog.js';
import { DialogState } from '../../../../src/sip/dialog/dialog-state.js';
import { DialogStore } from '../../../../src/sip/dialog/dialog-store.js';
import { toSipRequest } from '../../../../src/sip/dialog/dialog-message-factory.js';

function h(pairs: Array<[string, string]>): HeaderField[] {
  return pairs.map(([name, value]) => ({ name, value }));
}

const invite = () =>
  new SipRequestMessage(
    'INVITE',
    'sip:bob@biloxi.example.com',
    h([
      ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds'],
      ['Max-Forwards', '70'],
      ['To', 'Bob <sip:bob@biloxi.example.com>'],
      ['From', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
      ['Call-ID', 'a84b4c76e66710@pc33.atlanta.example.com'],
      ['CSeq', '314159 INVITE'],
      ['Contact', '<sip:alice@pc33.atlanta.example.com>'],
      ['Record-Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>'],
      ['Record-Route', '<sip:p3.example.com;lr>'],
    ]),
  );

const ok = (status = 200, extra: Array<[string, string]> = []) =>
  new SipResponseMessage(
    status,
    status === 200 ? 'OK' : 'Ringing',
    h([
      ['Via', 'SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds'],
      ['Record-Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>'],
      ['Record-Route', '<sip:p3.example.com;lr>'],
      ['To', 'Bob <sip:bob@biloxi.example.com>;tag=a6c85cf'],
      ['From', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
      ['Call-ID', 'a84b4c76e66710@pc33.atlanta.example.com'],
      ['CSeq', '314159 INVITE'],
      ['Contact', '<sip:bob@192.0.2.4>'],
      ...extra,
    ]),
  );

describe('Dialog (RFC 3261 §12)', () => {
  it('UAC: route set is the reversed Record-Route, remote target the Contact, CSeq continues (§12.1.2, §12.2.1.1)', () => {
    const d = Dialog.createUac(invite(), ok(), '<sip:me@127.0.0.1:5060>');
    expect(d.state).toBe(DialogState.Confirmed);
    expect(d.id).toEqual({
      callId: 'a84b4c76e66710@pc33.atlanta.example.com',
      localTag: '1928301774',
      remoteTag: 'a6c85cf',
    });
    expect(d.routeSet).toEqual(['<sip:p3.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:bob@192.0.2.4');
    expect(bye.nextHop).toBe('sip:p3.example.com;lr');
    expect(bye.headers).toEqual(
      h([
        ['Route', '<sip:p3.example.com;lr>'],
        ['Route', '<sip:p2.example.com;lr>'],
        ['Route', '<sip:p1.example.com;lr>'],
        ['Max-Forwards', '70'],
        ['From', 'Alice <sip:alice@atlanta.example.com>;tag=1928301774'],
        ['To', 'Bob <sip:bob@biloxi.example.com>;tag=a6c85cf'],
        ['Call-ID', 'a84b4c76e66710@pc33.atlanta.example.com'],
        ['CSeq', '314160 BYE'],
      ]),
    );
    expect(d.createRequest('INFO').headers.find((x) => x.name === 'CSeq')?.value).toBe('314161 INFO');
  });

  it('UAC: ACK for 2xx keeps the INVITE CSeq number (§13.2.2.4) and carries the late-offer answer', () => {
    const d = Dialog.createUac(invite(), ok(), '<sip:me@127.0.0.1>');
    const ack = d.createAck(314159, 'v=0\r\n');
    expect(ack.method).toBe('ACK');
    expect(ack.headers.find((x) => x.name === 'CSeq')?.value).toBe('314159 ACK');
    expect(ack.headers.find((x) => x.name === 'Content-Type')?.value).toBe('application/sdp');
    expect(ack.body.toString()).toBe('v=0\r\n');
    expect(d.localSeq).toBe(314159);
    const req = toSipRequest(ack);
    expect(req.cseq).toEqual({ seq: 314159, method: 'ACK' });
  });

  it('UAS: route set in Record-Route order, To gets our tag, first local CSeq is chosen (§12.1.1)', () => {
    const d = Dialog.createUas(invite(), 'ourtag', '<sip:me@127.0.0.1>');
    expect(d.role).toBe('uas');
    expect(d.ownsCallId).toBe(false);
    expect(d.routeSet).toEqual(['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>', '<sip:p3.example.com;lr>']);
    expect(d.remoteTarget).toBe('sip:alice@pc33.atlanta.example.com');
    const bye = d.createRequest('BYE');
    expect(bye.headers.find((x) => x.name === 'From')?.value).toBe('Bob <sip:bob@biloxi.example.com>;tag=ourtag');
    expect(bye.headers.find((x) => x.name === 'To')?.value).toBe(
      'Alice <sip:alice@atlanta.example.com>;tag=1928301774',
    );
    const seq = Number(bye.headers.find((x) => x.name === 'CSeq')?.value.split(' ')[0]);
    expect(seq).toBeGreaterThan(0);
    expect(seq).toBeLessThan(2 ** 31);
  });

  it('strict router: first route becomes the Request-URI, remote target appended (§12.2.1.1)', () => {
    const req = invite();
    req.removeHeader('Record-Route');
    req.addHeader('Record-Route', '<sip:strict.example.com>');
    req.addHeader('Record-Route', '<sip:p2.example.com;lr>');
    const d = Dialog.createUas(req, 't', '<sip:me@127.0.0.1>');
    const bye = d.createRequest('BYE');
    expect(bye.uri).toBe('sip:strict.example.com');
    expect(bye.nextHop).toBe('sip:strict.example.com');
    expect(bye.headers.filter((x) => x.name === 'Route').map((x) => x.value)).toEqual([
      '<sip:p2.example.com;lr>',
      '<sip:alice@pc33.atlanta.example.com>',
    ]);
  });

  it('re-INVITE carries Contact; its 2xx refreshes the remote target (§12.2.1.2)', () => {
    const d = Dialog.createUac(invite(), ok(), '<sip:me@127.0.0.1:5070>');
    const re = d.createRequest('INVITE', { body: 'v=0\r\n' });
    expect(re.headers.find((x) => x.name === 'Contact')?.value).toBe('<sip:me@127.0.0.1:5070>');
    const resp = ok(200);
    resp.setHeader('Contact', '<sip:bob@192.0.2.99:5080>');
    d.refreshTarget(resp, 'INVITE');
    expect(d.remoteTarget).toBe('sip:bob@192.0.2.99:5080');
    d.refreshTarget(ok(200, []), 'INFO');
    expect(d.remoteTarget).toBe('sip:bob@192.0.2.99:5080');
  });

  it('early dialog from 1xx is confirmed by the 2xx with the 2xx route set (§13.2.2.4)', () => {
    const ringing = ok(180);
    ringing.removeHeader('Record-Route');
    const d = Dialog.createUac(invite(), ringing, '<sip:me@127.0.0.1>');
    expect(d.state).toBe(DialogState.Early);
    expect(d.routeSet).toEqual([]);
    d.confirm(ok(200));
    expect(d.state).toBe(DialogState.Confirmed);
    expect(d.routeSet).toHaveLength(3);
  });

  it('remote CSeq must grow: a lower one is 500 (§12.2.2); ACK and CANCEL are not checked', () => {
    const d = Dialog.createUas(invite(), 't', '<sip:me@127.0.0.1>');
    const mk = (method: string, seq: number) => {
      const r = invite();
      r.method = method;
      r.setHeader('CSeq', `${seq} ${method}`);
      return r;
    };
    expect(() => d.acceptRemoteRequest(mk('BYE', 314159))).toThrow(DialogError);
    try {
      d.acceptRemoteRequest(mk('INFO', 5));
    } catch (e) {
      expect((e as DialogError).status).toBe(500);
    }
    d.acceptRemoteRequest(mk('ACK', 314159));
    d.acceptRemoteRequest(mk('BYE', 314160));
    expect(d.remoteSeq).toBe(314160);
  });

  it('createUas without Contact is a 400 (a dialog needs a remote target)', () => {
    const r = invite();
    r.removeHeader('Contact');
    expect(() => Dialog.createUas(r, 't', '<sip:x@127.0.0.1>')).toThrowError(/Contact/);
  });

  it('a terminated dialog refuses new requests with 481', () => {
    const d = Dialog.createUac(invite(), ok(), '<sip:me@127.0.0.1>');
    d.terminate();
    expect(() => d.createRequest('BYE')).toThrow(DialogError);
  });
});

describe('DialogStore matching (RFC 3261 §12.2.2)', () => {
  it('matches by Call-ID, To tag = local, From tag = remote; no To tag is out of dialog', () => {
    const d = Dialog.createUas(invite(), 'ourtag', '<sip:me@127.0.0.1>');
    const store = new DialogStore<Dialog>();
    store.add(d.key, d);
    const bye = invite();
    bye.method = 'BYE';
    bye.setHeader('To', 'Bob <sip:bob@biloxi.example.com>;tag=ourtag');
    expect(store.matchRequest(bye)).toBe(d);
    expect(d.matches(bye)).toBe(true);
    bye.setHeader('To', 'Bob <sip:bob@biloxi.example.com>;tag=other');
    expect(store.matchRequest(bye)).toBeUndefined();
    expect(store.matchRequest(invite())).toBeUndefined();
    bye.setHeader('To', 'Bob <sip:bob@biloxi.example.com>;tag=ourtag');
    bye.setHeader('Call-ID', 'different');
    expect(store.matchRequest(bye)).toBeUndefined();
  });

  it('matches responses by From tag = local, To tag = remote', () => {
    const d = Dialog.createUac(invite(), ok(), '<sip:me@127.0.0.1>');
    const store = new DialogStore<Dialog>();
    store.add(d.key, d);
    expect(store.matchResponse(ok())).toBe(d);
    const other = ok();
    other.setHeader('To', 'Bob <sip:bob@biloxi.example.com>;tag=fork2');
    expect(store.matchResponse(other)).toBeUndefined();
  });
});
