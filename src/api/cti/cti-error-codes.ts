/**
 * The CTI error-code table (interfaces §4: "EventError … with a documented error-code table").
 * Documented for users in docs/cti-protocol.md; keep both in sync. Codes are stable: never
 * renumber, only add.
 */
export const CTI_ERROR = {
  /** A request other than RequestOpen arrived before RequestOpen succeeded. */
  NOT_OPENED: { code: 1001, message: 'connection not opened: send RequestOpen first' },
  /** RequestOpen on a connection that is already open. */
  ALREADY_OPENED: { code: 1002, message: 'connection already opened' },
  /** Unknown agent or wrong password (one code, so it does not tell which). */
  BAD_CREDENTIALS: { code: 1003, message: 'unknown agent or wrong password' },
  /** RequestOpen with a token that is not the admin token. */
  BAD_TOKEN: { code: 1004, message: 'invalid token' },
  /** The frame is not valid JSON, or not a JSON object. */
  BAD_JSON: { code: 1010, message: 'message is not a JSON object' },
  /** `request` names no known request. */
  UNKNOWN_REQUEST: { code: 1011, message: 'unknown request' },
  /** Missing or malformed attributes (the message lists them). */
  INVALID_ATTRIBUTES: { code: 1012, message: 'invalid or missing attributes' },
  /** The frame is larger than the limit; the connection is closed. */
  MESSAGE_TOO_LARGE: { code: 1013, message: 'message too large' },
  /** Too many requests per second on this connection. */
  RATE_LIMITED: { code: 1014, message: 'rate limit exceeded' },
  /** The DN is not allowed for this connection (agent scope: only the agent's own DN). */
  DN_NOT_ALLOWED: { code: 1020, message: 'DN not allowed for this connection' },
  /** The DN is not provisioned. */
  UNKNOWN_DN: { code: 1021, message: 'unknown DN' },
  /** Another agent is logged in on the DN. */
  DN_IN_USE: { code: 1022, message: 'another agent is logged in on this DN' },
  /** The agent is logged in on another DN. */
  AGENT_ALREADY_LOGGED_IN: { code: 1030, message: 'agent already logged in elsewhere' },
  /** No agent is logged in on the DN. */
  AGENT_NOT_LOGGED_IN: { code: 1031, message: 'agent not logged in' },
  /** The request is not valid in the agent's current state. */
  INVALID_STATE_TRANSITION: { code: 1032, message: 'invalid state transition' },
  /** The work mode is not valid for this request. */
  INVALID_WORK_MODE: { code: 1033, message: 'invalid work mode for this request' },
  /** agent-phone is empty or not a dialable number. */
  AGENT_PHONE_INVALID: { code: 1040, message: 'agent-phone is not a valid number' },
  /** agent-phone equals an internal DN of the switch (behaviour §7). */
  AGENT_PHONE_INTERNAL_DN: { code: 1041, message: 'agent-phone equals an internal DN' },
  /** agent-phone is bound to another logged-in agent (behaviour §7). */
  AGENT_PHONE_BOUND: { code: 1042, message: 'agent-phone already bound to another agent' },
  /** No softswitch prefix matches agent-phone (behaviour §7). */
  AGENT_PHONE_NO_SOFTSWITCH: { code: 1043, message: 'no softswitch for agent-phone' },
  /** connId names no call on this DN. */
  UNKNOWN_CONN_ID: { code: 1050, message: 'unknown connId' },
  /** The request is not supported (yet, or for this device, e.g. answer on a PSTN phone). */
  NOT_SUPPORTED: { code: 1051, message: 'request not supported' },
  /** Call control tried and failed (SIP error, timeout…); the message says why. */
  CALL_FAILED: { code: 1052, message: 'call operation failed' },
  /** A server fault; details are in the server log. */
  INTERNAL: { code: 1099, message: 'internal error' },
} as const;

/** A key of {@link CTI_ERROR}. */
export type CtiErrorName = keyof typeof CTI_ERROR;

/** A failure to answer with EventError. */
export class CtiError extends Error {
  constructor(
    readonly errorName: CtiErrorName,
    message?: string,
  ) {
    super(message ?? CTI_ERROR[errorName].message);
    this.name = 'CtiError';
  }

  /** Numeric `errorCode` of the wire. */
  get code(): number {
    return CTI_ERROR[this.errorName].code;
  }
}
