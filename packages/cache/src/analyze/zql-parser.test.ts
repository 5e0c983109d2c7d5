import {createBuilder, createSchema, number, relationships, string, table} from '@zync/zql';
import {describe, expect, test} from 'vitest';
import {AnalyzeError} from './analyze-error.ts';
import {zqlToAST} from './zql-interpreter.ts';

const issue = table('issue')
  .columns({id: string(), status: string(), rank: number(), ownerID: string().from('owner_id')})
  .primaryKey('id');
const comment = table('comment')
  .columns({id: string(), issueID: string(), body: string()})
  .primaryKey('id');
const schema = createSchema({
  tables: [issue, comment],
  relationships: [
    relationships(issue, ({many}) => ({
      comments: many({sourceField: ['id'], destField: ['issueID'], destSchema: comment}),
    })),
  ],
});
const b = createBuilder(schema);

function error(text: string): string {
  try {
    zqlToAST(text, schema);
  } catch (e) {
    expect(e).toBeInstanceOf(AnalyzeError);
    expect((e as AnalyzeError).kind).toBe('input');
    const message = (e as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error(`no error for ${text}`);
}

describe('ZQL text gives the AST the builder gives', () => {
  test.each([
    ['issue', b.issue],
    [`issue.where("status", "open").limit(10)`, b.issue.where('status', 'open').limit(10)],
    [`issue.where('rank', '>=', -2.5e1)`, b.issue.where('rank', '>=', -25)],
    [
      `issue.where("status", "IN", ["open", 'closed',]).orderBy("rank", "desc")`,
      b.issue.where('status', 'IN', ['open', 'closed']).orderBy('rank', 'desc'),
    ],
    [
      `issue.related("comments", q => q.where("body", "LIKE", "%a\\"b%").limit(3)).one()`,
      b.issue.related('comments', q => q.where('body', 'LIKE', '%a"b%').limit(3)).one(),
    ],
    [
      `issue.where(({cmp, or, not, exists}) => or(cmp("status", "open"), not(cmp("rank", "<", 3)), exists("comments")))`,
      b.issue.where(({cmp, or, not, exists}) =>
        or(cmp('status', 'open'), not(cmp('rank', '<', 3)), exists('comments')),
      ),
    ],
    [
      `issue.where(eb => eb.and(eb.cmp("ownerID", "IS", null), eb.cmpLit(1, "=", 1)))`,
      b.issue.where(eb => eb.and(eb.cmp('ownerID', 'IS', null), eb.cmpLit(1, '=', 1))),
    ],
    [
      `issue.whereExists("comments", (c) => c.where("body", "x")).start({id: "i1", rank: 3}, {inclusive: true})`,
      b.issue
        .whereExists('comments', c => c.where('body', 'x'))
        .start({id: 'i1', rank: 3}, {inclusive: true}),
    ],
    [`(issue).where("id", "\\u00e9\\x41\\n")`, b.issue.where('id', 'éA\n')],
  ])('%s', (text, query) => {
    expect(zqlToAST(text, schema)).toEqual(query.ast);
  });
});

describe('bad input: one line, naming the problem', () => {
  test.each([
    [
      `issue.where("status", "open"`,
      /expected "\)" to close the arguments, found the end of the query \(at character 29\)/,
    ],
    [`issue.where("status, "open")`, /unterminated string \(at character 27\)/],
    [`issue.where("status", 'open)`, /unterminated string \(at character 23\)/],
    [`issue.limit(10) extra`, /unexpected "extra" after the end of the query/],
    [`issue..limit(1)`, /expected a method name after "\."/],
    [``, /the query is empty/],
    [`issue.where("status", 01x)`, /malformed number/],
    [`issue.where("a" + "b")`, /unexpected character "\+"/],
    [`issue.where(\`\${x}\`)`, /template strings with \$\{…\} are not supported/],
    [`issue.related("comments", q => { return q })`, /expression body/],
  ])('malformed: %s', (text, message) => {
    expect(error(text)).toMatch(message);
  });

  test('unknown table, column, relationship, method', () => {
    expect(error(`issues.limit(1)`)).toMatch(
      /unknown table "issues"; a query starts with a table of the schema \(issue, comment\)/,
    );
    expect(error(`issue.where("statuss", "open")`)).toMatch(
      /where\(\): unknown column "statuss" in table "issue"/,
    );
    expect(error(`issue.related("comment")`)).toMatch(/unknown relationship "comment"/);
    expect(error(`issue.orderBy("rank", "up")`)).toMatch(/direction must be 'asc' or 'desc'/);
    expect(error(`issue.materialize()`)).toMatch(/"materialize" is not a query method/);
    expect(error(`issue.constructor("x")`)).toMatch(/"constructor" is not a query method/);
    expect(error(`issue.where(({cmp, constructor}) => cmp("id", "1"))`)).toMatch(
      /"constructor" is not an expression builder function/,
    );
    expect(error(`"issue"`)).toMatch(/must be a query .*not the string "issue"/);
    expect(error(`issue.limit`)).toMatch(/not limit\(\)/);
  });

  test('nothing outside the builder is reachable', () => {
    expect(error(`process.exit(3)`)).toMatch(/unknown table "process"/);
    expect(error(`issue.where(globalThis)`)).toMatch(/unknown table "globalThis"/);
    expect(error(`issue.where("id", "1").ast`)).toMatch(/"ast" is not a query method/);
    expect(error(`issue.related("comments", q => q.schema)`)).toMatch(
      /"schema" is not a query method/,
    );
    expect(error(`issue.where("id", {a: 1}.b)`)).toMatch(/an object has no member "b"/);
    expect(error(`"x".length`)).toMatch(/has no member "length"/);
  });

  test('input size and nesting are bounded', () => {
    expect(error(`issue.where("id", "${'x'.repeat(100_001)}")`)).toMatch(
      /the most accepted is 100000/,
    );
    expect(error(`issue.where("id", ${'['.repeat(200)}1${']'.repeat(200)})`)).toMatch(
      /nested too deeply/,
    );
  });
});
