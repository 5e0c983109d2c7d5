// @zync/zql/sql: the one ZQL → SQL compiler, for SQLite (zero-cache's replica) and Postgres
// (the API server's reads, zero-cache's write checks). See docs/zql.md.
export {
  compileCondition,
  falseFragment,
  trueFragment,
  unknownFragment,
  type CompareRules,
  type ConditionContext,
} from './condition.ts';
export {
  postgresColumn,
  postgresDialect,
  sqliteDialect,
  type Scalar,
  type SqlDialect,
} from './dialect.ts';
export {
  isStorable,
  numberParams,
  PARAM,
  type SqlColumn,
  type SqlFragment,
  type SqlParam,
  type ValueKind,
} from './fragment.ts';
export {tokensToGlob} from './like-sql.ts';
export {
  compileQuery,
  compileWhere,
  levelLimit,
  startCondition,
  type QueryContext,
  type SqlTable,
} from './select.ts';
