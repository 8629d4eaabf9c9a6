import type Database from 'better-sqlite3';
import type { SqliteDatabase } from './database.js';

/**
 * Prepares each SQL text once per connection. Listing queries are assembled from the
 * filters present, so they cannot all be prepared up front; there are few combinations,
 * and each is compiled the first time it is used and reused afterwards.
 */
export class StatementCache {
  readonly #statements = new Map<string, Database.Statement>();

  constructor(private readonly db: SqliteDatabase) {}

  get(sql: string): Database.Statement {
    let statement = this.#statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }
}
