/**
 * JSON schemas of the admin API (interfaces §5), used for the OpenAPI document. Bodies are
 * validated by the configuration planner itself (422 with every problem), so these schemas
 * only describe.
 */
import { DN_TYPES } from '../../config/config-model.js';
import { SECRET_OPTIONS } from '../../config/secrets.js';

const SECRETS = SECRET_OPTIONS.map((n) => `\`${n}\``).join(', ');
const options = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: `Genesys [TServer] options: string keys and values. Secret options (${SECRETS}) are write-only: never returned`,
} as const;
const optionsIn = {
  type: 'object',
  additionalProperties: { type: 'string' },
  description: `Genesys [TServer] options: string keys and values. A secret option (${SECRETS}) left out keeps the stored value; "" removes it`,
} as const;
const optionsPatch = {
  type: 'object',
  additionalProperties: { type: ['string', 'null'] },
  description: 'Options to merge; null removes an option',
} as const;

/** A DN as answered (interfaces §5): secret options left out, `hasPassword` instead. */
export const dnSchema = {
  type: 'object',
  properties: {
    number: { type: 'string' },
    type: { type: 'string', enum: [...DN_TYPES] },
    options,
    hasPassword: {
      type: 'boolean',
      description: 'Present (true) when the DN has a non-empty `password` option: its phone must authenticate',
    },
  },
} as const;
/** Body of `PUT /api/dns/{number}`. */
export const dnPutSchema = {
  type: 'object',
  properties: { type: { type: 'string', enum: [...DN_TYPES] }, options: optionsIn },
  required: ['type'],
} as const;
/** Body of `PATCH /api/dns/{number}`. */
export const dnPatchSchema = {
  type: 'object',
  properties: { type: { type: 'string', enum: [...DN_TYPES] }, options: optionsPatch },
} as const;
/** An agent as answered (never with its password). */
export const agentSchema = {
  type: 'object',
  properties: { id: { type: 'string' }, name: { type: 'string' }, dn: { type: 'string' }, options },
  description: 'An agent; the password is never returned',
} as const;
/** Body of `PUT /api/agents/{id}`. */
export const agentPutSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    password: { type: 'string', description: 'Required for a new agent; omitted = keep the stored one' },
    dn: { type: 'string' },
    options,
  },
} as const;
/** Body of `PATCH /api/agents/{id}`. */
export const agentPatchSchema = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    password: { type: 'string' },
    dn: { type: ['string', 'null'] },
    options: optionsPatch,
  },
} as const;
/** An agent group as answered. */
export const groupSchema = {
  type: 'object',
  properties: { name: { type: 'string' }, agents: { type: 'array', items: { type: 'string' } } },
} as const;
/** Body of `PUT`/`PATCH /api/agent-groups/{name}`. */
export const groupPutSchema = {
  type: 'object',
  properties: { agents: { type: 'array', items: { type: 'string' } } },
} as const;
/** The 422 answer: every problem with the index of its change. */
export const problemsSchema = {
  type: 'object',
  properties: {
    errors: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          index: { type: 'integer', description: 'change index; -1 = the request as a whole' },
          message: { type: 'string' },
        },
      },
    },
  },
} as const;
/** A 404/503 answer. */
export const errorSchema = { type: 'object', properties: { error: { type: 'string' } } } as const;
/** Body of `POST /api/config/change-sets`. */
export const changeSetSchema = {
  type: 'object',
  required: ['changes'],
  properties: {
    ifVersion: {
      type: 'integer',
      minimum: 0,
      description: 'apply only if the configuration is still at this version, else 409',
    },
    changes: {
      type: 'array',
      items: {
        type: 'object',
        required: ['op', 'kind', 'key'],
        properties: {
          op: {
            type: 'string',
            enum: ['put', 'patch', 'delete', 'create'],
            description: 'create = put of an object that must not exist (applied as a put)',
          },
          kind: { type: 'string', enum: ['dn', 'agent', 'agent-group', 'server'] },
          key: { type: 'string' },
          value: { type: 'object', additionalProperties: true },
          restoreFrom: {
            type: 'integer',
            minimum: 1,
            description:
              'with create of a DN or an agent: re-create it as it was just before this change-set removed it, secrets included (value optional)',
          },
        },
      },
    },
  },
} as const;
/** `limit` and `offset` of the list endpoints. */
export const pageQuerySchema = {
  type: 'object',
  properties: {
    limit: { type: 'integer', minimum: 1, default: 1000 },
    offset: { type: 'integer', minimum: 0, default: 0 },
  },
} as const;

/** `GET /api/dns` query: a page, and `q` = a substring of the number or the type (case-insensitive). */
export const dnsQuerySchema = {
  type: 'object',
  properties: { ...pageQuerySchema.properties, q: { type: 'string', maxLength: 200 } },
} as const;
