// zync/server: helpers for the app's API server (Node only: pg, postgres).
export * from '@zync/server';
