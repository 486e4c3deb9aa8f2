/** Digest authentication, server and client side (RFC 3261 §22, RFC 7616, RFC 8760). */
export * from './digest-hash.js';
export * from './digest-params.js';
export * from './digest-nonce-manager.js';
export * from './digest-server.js';
export * from './digest-client.js';
export * from './random-pool.js';
