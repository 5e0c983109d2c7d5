import * as v from 'valibot';
import {queryPatchSchema} from './queries.ts';

const id = v.pipe(v.string(), v.minLength(1), v.maxLength(200));

/** The first frame a client sends. The auth token travels here, never in the URL. */
export const connectBodySchema = v.strictObject({
  protocolVersion: v.number(),
  clientID: id,
  clientGroupID: id,
  userID: id,
  /** The version the client already has, or null for a client with no data. */
  baseVersion: v.nullable(v.string()),
  /** The last mutation id the client has pushed (0 if none). */
  lastMutationID: v.pipe(v.number(), v.integer(), v.minValue(0)),
  /** The opaque token or JWT; absent for anonymous connections. */
  auth: v.optional(v.pipe(v.string(), v.maxLength(64 * 1024))),
  /** The client's schema, as table name → column names (server names), for a compatibility check. */
  schemaTables: v.optional(v.record(v.string(), v.array(v.string()))),
  /** Queries the client wants from the start. */
  desiredQueries: queryPatchSchema,
});
export type ConnectBody = v.InferOutput<typeof connectBodySchema>;

/** The server's answer once the connection is accepted. */
export const connectedBodySchema = v.strictObject({
  wsid: v.string(),
  /** When the token expires (epoch ms), or null if it does not (or there is none). */
  tokenExpiresAt: v.nullable(v.number()),
});
export type ConnectedBody = v.InferOutput<typeof connectedBodySchema>;

/** Replaces the token on a live connection. Verified exactly like the token in `connect`. */
export const updateAuthBodySchema = v.strictObject({
  auth: v.pipe(v.string(), v.maxLength(64 * 1024)),
});
export type UpdateAuthBody = v.InferOutput<typeof updateAuthBodySchema>;

/** The server accepted the token from `updateAuth`. */
export const authUpdatedBodySchema = v.strictObject({tokenExpiresAt: v.nullable(v.number())});
export type AuthUpdatedBody = v.InferOutput<typeof authUpdatedBodySchema>;
