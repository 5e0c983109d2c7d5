// Builds the Zero instance for a logged-in user, the way each auth mode needs it.
import {Zero} from 'zync';
import {createMutators} from '../shared/mutators.ts';
import {bindQueryBuilder} from '../shared/queries.ts';
import {schema} from '../shared/schema.ts';
import type {AppConfig, Session} from './api.ts';
import {authDataOf, refresh} from './api.ts';

export function makeZero(config: AppConfig, session: Session) {
  const server = `${location.protocol}//${location.hostname}:${config.cachePort}`;
  const common = {
    server,
    userID: session.user.id,
    schema,
    mutators: createMutators(authDataOf(session.user)),
  };
  const zero = config.mode === 'cookie' ? cookieZero(common) : tokenZero(common, session);
  bindQueryBuilder(zero.query);
  return zero;
}

type Common = {
  server: string;
  userID: string;
  schema: typeof schema;
  mutators: ReturnType<typeof createMutators>;
};

// No token in JS: the browser sends the HttpOnly cookie on the WebSocket upgrade and
// zero-cache forwards it to the API server.
function cookieZero(common: Common) {
  return new Zero(common);
}

function tokenZero(common: Common, session: Session) {
  let first = session.token;
  return new Zero({
    ...common,
    // Called for the first token, before the current one expires, and when zero-cache
    // rejects one: trades the session cookie for a fresh short-lived JWT.
    auth: async () => {
      if (first !== undefined) {
        const t = first;
        first = undefined;
        return t;
      }
      return (await refresh())?.token;
    },
  });
}

export type HelloZero = ReturnType<typeof tokenZero>;
