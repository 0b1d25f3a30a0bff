/**
 * Built-in accounts: argon2id password hashes (@node-rs/argon2, OWASP's parameters), TOTP secrets
 * encrypted with the data keys, failed-attempt counting and lockout, all in the gateway's Postgres.
 */
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { isRole, type Role } from '@anfang/platform/auth';
import type { FieldCipher } from '@anfang/platform/crypto';
import { AlreadyExistsError, InvalidArgumentError, NotFoundError } from '@anfang/platform/grpc';
import { sqlState, withTransaction, type Pool } from '@anfang/platform/pg';

/** OWASP password storage cheat sheet: argon2id, m=19 MiB, t=2, p=1. */
const ARGON2 = { memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export interface Account {
  readonly userId: string;
  readonly username: string;
  readonly displayName: string;
  readonly role: Role;
  readonly compounds: 'all' | readonly string[];
  readonly areas: readonly string[];
  readonly passwordChangedAt: Date;
  readonly totpEnabled: boolean;
  readonly totpLastStep: number;
  readonly failedAttempts: number;
  readonly lockedUntil: Date | undefined;
  readonly disabled: boolean;
}

export interface NewAccount {
  readonly username: string;
  readonly displayName: string;
  readonly password: string;
  readonly role: Role;
  readonly compounds: 'all' | readonly string[];
  readonly areas: readonly string[];
}

interface Row {
  user_id: string;
  username: string;
  display_name: string;
  role: string;
  compounds: string[] | null;
  areas: string[];
  password_hash: string;
  password_changed_at: Date;
  totp_secret: string | null;
  totp_enabled: boolean;
  totp_last_step: string;
  failed_attempts: number;
  locked_until: Date | null;
  disabled: boolean;
}

function fromRow(r: Row): Account {
  if (!isRole(r.role)) throw new Error(`account ${r.user_id} has an unknown role`);
  return {
    userId: r.user_id,
    username: r.username,
    displayName: r.display_name,
    role: r.role,
    compounds: r.compounds === null ? 'all' : r.compounds,
    areas: r.areas,
    passwordChangedAt: r.password_changed_at,
    totpEnabled: r.totp_enabled,
    totpLastStep: Number(r.totp_last_step),
    failedAttempts: r.failed_attempts,
    lockedUntil: r.locked_until ?? undefined,
    disabled: r.disabled,
  };
}

/** Password rules: long rather than complex (NIST SP 800-63B), and not the username. */
export function checkPassword(password: string, username: string): void {
  if ([...password].length < 12)
    throw new InvalidArgumentError('the password must have at least 12 characters', [
      { field: 'password', description: 'at least 12 characters' },
    ]);
  if ([...password].length > 256)
    throw new InvalidArgumentError('the password is too long', [
      { field: 'password', description: 'at most 256 characters' },
    ]);
  if (password.toLowerCase().includes(username.toLowerCase()))
    throw new InvalidArgumentError('the password must not contain the username', [
      { field: 'password', description: 'must not contain the username' },
    ]);
}

export interface AccountStore {
  create(account: NewAccount): Promise<Account>;
  /** Creates the account unless one of that name exists; true when created. */
  ensure(account: NewAccount): Promise<boolean>;
  byUsername(username: string): Promise<Account | undefined>;
  byId(userId: string): Promise<Account | undefined>;
  list(): Promise<Account[]>;
  verifyPassword(userId: string, password: string): Promise<boolean>;
  /** Counts a failure; locks the account when the count reaches the threshold. Returns the lock end. */
  recordFailure(userId: string, threshold: number, lockMinutes: number): Promise<Date | undefined>;
  recordSuccess(userId: string): Promise<void>;
  unlock(userId: string): Promise<void>;
  setPassword(userId: string, password: string): Promise<void>;
  /** The encrypted TOTP secret (enabled or pending). */
  totpSecret(userId: string): Promise<string | undefined>;
  setPendingTotp(userId: string, secret: string): Promise<void>;
  enableTotp(userId: string): Promise<void>;
  /** Accepts a TOTP time step once: false when it (or a later one) was used already. */
  useTotpStep(userId: string, step: number): Promise<boolean>;
}

export function createAccountStore(pool: Pool, cipher: FieldCipher): AccountStore {
  const one = async (sql: string, params: unknown[]): Promise<Account | undefined> => {
    const result = await pool.query<Row>(sql, params);
    return result.rows[0] ? fromRow(result.rows[0]) : undefined;
  };
  const aad = (userId: string) => `gateway.users.totp:${userId}`;
  const insert = async (account: NewAccount): Promise<Account> => {
    checkPassword(account.password, account.username);
    const userId = randomUUID();
    const result = await pool.query<Row>(
      `INSERT INTO users (user_id, username, display_name, role, compounds, areas, password_hash)
       VALUES ($1,$2,$3,$4,$5,$6,$7) RETURNING *`,
      [
        userId,
        account.username,
        account.displayName,
        account.role,
        account.compounds === 'all' ? null : [...account.compounds],
        [...account.areas],
        await hash(account.password, ARGON2),
      ],
    );
    return fromRow(result.rows[0]!);
  };
  return {
    async create(account) {
      try {
        return await insert(account);
      } catch (error) {
        if (sqlState(error) === '23505') throw new AlreadyExistsError(`user ${account.username} exists`);
        throw error;
      }
    },
    async ensure(account) {
      try {
        await insert(account);
        return true;
      } catch (error) {
        if (sqlState(error) === '23505') return false;
        throw error;
      }
    },
    byUsername: (username) => one('SELECT * FROM users WHERE lower(username) = lower($1)', [username]),
    byId: (userId) => one('SELECT * FROM users WHERE user_id = $1', [userId]),
    async list() {
      const result = await pool.query<Row>('SELECT * FROM users ORDER BY lower(username)');
      return result.rows.map(fromRow);
    },
    async verifyPassword(userId, password) {
      const result = await pool.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE user_id = $1',
        [userId],
      );
      const stored = result.rows[0]?.password_hash;
      return stored !== undefined && (await verify(stored, password));
    },
    recordFailure: (userId, threshold, lockMinutes) =>
      withTransaction(pool, async (client) => {
        const result = await client.query<{ failed_attempts: number; locked_until: Date | null }>(
          `UPDATE users SET failed_attempts = failed_attempts + 1,
             locked_until = CASE WHEN failed_attempts + 1 >= $2 THEN now() + make_interval(mins => $3)
                            ELSE locked_until END
           WHERE user_id = $1 RETURNING failed_attempts, locked_until`,
          [userId, threshold, lockMinutes],
        );
        return result.rows[0]?.locked_until ?? undefined;
      }),
    async recordSuccess(userId) {
      await pool.query('UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1', [
        userId,
      ]);
    },
    async unlock(userId) {
      const result = await pool.query(
        'UPDATE users SET failed_attempts = 0, locked_until = NULL WHERE user_id = $1',
        [userId],
      );
      if (result.rowCount === 0) throw new NotFoundError(`user ${userId} not found`);
    },
    async setPassword(userId, password) {
      await pool.query(
        'UPDATE users SET password_hash = $2, password_changed_at = now() WHERE user_id = $1',
        [userId, await hash(password, ARGON2)],
      );
    },
    async totpSecret(userId) {
      const result = await pool.query<{ totp_secret: string | null }>(
        'SELECT totp_secret FROM users WHERE user_id = $1',
        [userId],
      );
      const sealed = result.rows[0]?.totp_secret;
      return sealed ? cipher.decryptString(sealed, aad(userId)) : undefined;
    },
    async setPendingTotp(userId, secret) {
      await pool.query('UPDATE users SET totp_secret = $2, totp_enabled = false WHERE user_id = $1', [
        userId,
        cipher.encrypt(secret, aad(userId)),
      ]);
    },
    async enableTotp(userId) {
      await pool.query(
        'UPDATE users SET totp_enabled = true WHERE user_id = $1 AND totp_secret IS NOT NULL',
        [userId],
      );
    },
    async useTotpStep(userId, step) {
      const result = await pool.query(
        'UPDATE users SET totp_last_step = $2 WHERE user_id = $1 AND totp_last_step < $2',
        [userId, step],
      );
      return result.rowCount === 1;
    },
  };
}
