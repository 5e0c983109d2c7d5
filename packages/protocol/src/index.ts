export * from './ast.ts';
