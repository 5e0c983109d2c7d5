// zero-cache's push path: CRUD mutations applied upstream, custom ones forwarded to the
// app's API server. Re-exports only; see docs/writes.md.
export {CrudProcessor} from './crud-processor.ts';
export type {CrudContext, CrudProcessorOptions} from './crud-processor.ts';
export {CustomForwarder, DEFAULT_RETRY} from './custom-forwarder.ts';
export type {CustomForwarderOptions, ForwardContext, RetryPolicy} from './custom-forwarder.ts';
export {MutationFailure} from './push-failure.ts';
export type {MutationFailureKind} from './push-failure.ts';
export type {MutationOutcome} from './push-types.ts';
export {allowAllWrites, BoundWriteAuthorizer} from './write-authorizer.ts';
export type {WriteAuthorizer} from './write-authorizer.ts';
export {OPAQUE_TOKEN_CRUD_REFUSAL, pusherConfig, ZeroPusher} from './zero-pusher.ts';
export type {PushRequestContext, ZeroPusherOptions} from './zero-pusher.ts';
