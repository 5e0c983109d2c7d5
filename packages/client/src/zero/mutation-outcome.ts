// What the server said of a pushed mutation, as the app's `server` promise reports it.
import type {MutationResult} from '@zync/protocol';
import type {ReadonlyJSONValue} from '@zync/shared';

export type ServerOutcome =
  | {readonly type: 'success'}
  | {
      readonly type: 'error';
      readonly error: {
        readonly type: 'app' | 'zero';
        readonly message: string;
        readonly details?: ReadonlyJSONValue | undefined;
      };
    };

export const SUCCESS: ServerOutcome = Object.freeze({type: 'success'});

export function toOutcome(r: MutationResult): ServerOutcome {
  if (r.type !== 'error') return SUCCESS;
  return {
    type: 'error',
    error: {
      type: r.error,
      message: r.message,
      ...(r.details === undefined ? {} : {details: r.details}),
    },
  };
}
