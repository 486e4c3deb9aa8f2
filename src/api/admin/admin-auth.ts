/**
 * Bearer-token check for the admin API (interfaces §5; RFC 6750 §2.1 `Authorization: Bearer`).
 */
import { timingSafeEqual, createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

/** True when `header` is `Bearer <token>` (constant-time comparison). */
export function bearerMatches(header: string | undefined, token: string): boolean {
  if (!header) return false;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) return false;
  return timingSafeEqual(digest(m[1]), digest(token));
}

/**
 * A fastify `onRequest` hook answering 401 (with `WWW-Authenticate: Bearer`, RFC 6750 §3)
 * when the request does not carry the token. Other helpers adding `/api` routes reuse it.
 */
export function adminAuthHook(token: string): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (req, reply) => {
    if (!bearerMatches(req.headers.authorization, token)) {
      await reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="sipserver"')
        .send({ error: 'unauthorized: send Authorization: Bearer <admin token>' });
    }
  };
}
