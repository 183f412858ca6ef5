import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';

/**
 * Migrations are code, in order, and written with Kysely's schema builder so the
 * same steps run on SQLite and Postgres. `id` is the only column that differs.
 */
type Dialect = 'sqlite' | 'postgres';

function idColumn(dialect: Dialect) {
  return dialect === 'postgres' ? sql`bigserial primary key` : sql`integer primary key autoincrement`;
}

const migrations = (dialect: Dialect): Record<string, Migration> => ({
  '0001_core': {
    async up(db: Kysely<any>) {
      const id = idColumn(dialect);
      await db.schema.createTable('apps')
        .addColumn('id', id as any)
        .addColumn('app_id', 'text', (c) => c.notNull().unique())
        .addColumn('secret', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('corp_id', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('tokens')
        .addColumn('token_hash', 'text', (c) => c.primaryKey())
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tokens_expires').on('tokens').column('expires_at').execute();
      await db.schema.createTable('quotas')
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('total', 'bigint', (c) => c.notNull())
        .addColumn('used', 'bigint', (c) => c.notNull().defaultTo(0))
        .addColumn('reserved', 'bigint', (c) => c.notNull().defaultTo(0))
        .addPrimaryKeyConstraint('quotas_pk', ['app_pk', 'kind'])
        .execute();
      await db.schema.createTable('quota_ledger')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('op', 'text', (c) => c.notNull())
        .addColumn('amount', 'bigint', (c) => c.notNull())
        .addColumn('ref', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('quota_ledger_once', ['ref', 'kind', 'op'])
        .execute();
      await db.schema.createTable('tts_syntheses')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('speaker_id', 'text', (c) => c.notNull())
        .addColumn('content', 'text', (c) => c.notNull())
        .addColumn('char_count', 'bigint', (c) => c.notNull())
        .addColumn('callback_url', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint')
        .addColumn('audio_key', 'text')
        .addColumn('srt_key', 'text')
        .addColumn('reason', 'text')
        .addColumn('callback_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('tts_app_id').on('tts_syntheses').columns(['app_pk', 'id']).execute();
      await db.schema.createTable('jobs')
        .addColumn('id', id as any)
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('ref_id', 'bigint', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('max_attempts', 'integer', (c) => c.notNull())
        .addColumn('run_at', 'bigint', (c) => c.notNull())
        .addColumn('lease_until', 'bigint')
        .addColumn('locked_by', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('jobs_claim').on('jobs').columns(['state', 'run_at']).execute();
      await db.schema.createTable('callbacks')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull())
        .addColumn('task_type', 'text', (c) => c.notNull())
        .addColumn('resource_id', 'bigint', (c) => c.notNull())
        .addColumn('url', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('idempotency')
        .addColumn('app_pk', 'bigint', (c) => c.notNull())
        .addColumn('route', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('request_hash', 'text', (c) => c.notNull())
        .addColumn('status_code', 'integer', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_pk', ['app_pk', 'route', 'key'])
        .execute();
    },
  },
  '0002_cloning': {
    async up(db: Kysely<any>) {
      const id = idColumn(dialect);
      await db.schema.createTable('trainings')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('video_url', 'text', (c) => c.notNull())
        .addColumn('authorize_url', 'text', (c) => c.notNull())
        .addColumn('authorize_text', 'text', (c) => c.notNull())
        .addColumn('level', 'integer', (c) => c.notNull())
        .addColumn('compress', 'integer', (c) => c.notNull())
        .addColumn('callback_url', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('comment', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('run', 'integer', (c) => c.notNull().defaultTo(1))
        .addColumn('scene_id', 'bigint')
        .addColumn('cover_key', 'text')
        .addColumn('authorize_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('callback_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trainings_app_id').on('trainings').columns(['app_pk', 'id']).execute();
      await db.schema.createTable('scenes')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('training_id', 'bigint', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('width', 'integer', (c) => c.notNull())
        .addColumn('height', 'integer', (c) => c.notNull())
        .addColumn('fps', 'integer', (c) => c.notNull())
        .addColumn('duration_ms', 'bigint', (c) => c.notNull())
        .addColumn('frames', 'integer', (c) => c.notNull())
        .addColumn('forward_key', 'text', (c) => c.notNull())
        .addColumn('reverse_key', 'text', (c) => c.notNull())
        .addColumn('cover_key', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createTable('voices')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('audio_url', 'text', (c) => c.notNull())
        .addColumn('authorize_url', 'text', (c) => c.notNull())
        .addColumn('authorize_text', 'text', (c) => c.notNull())
        .addColumn('sex', 'integer')
        .addColumn('languages', 'text', (c) => c.notNull())
        .addColumn('features', 'text', (c) => c.notNull())
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('profile', 'text')
        .addColumn('audition_key', 'text')
        .addColumn('authorize_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('callback_url', 'text')
        .addColumn('callback_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('expire_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('voices_app_id').on('voices').columns(['app_pk', 'id']).execute();
      await db.schema.createTable('consents')
        .addColumn('id', id as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull())
        .addColumn('subject', 'text', (c) => c.notNull())
        .addColumn('subject_id', 'bigint', (c) => c.notNull())
        .addColumn('authorize_url', 'text', (c) => c.notNull())
        .addColumn('authorize_text', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('transcript', 'text')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('consents_subject').on('consents').columns(['subject', 'subject_id']).execute();
    },
  },
  '0003_videos': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('videos')
        .addColumn('id', idColumn(dialect) as any)
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('video_name', 'text')
        .addColumn('scene_id', 'bigint', (c) => c.notNull())
        .addColumn('audio_url', 'text')
        .addColumn('text', 'text')
        .addColumn('speaker_id', 'text')
        .addColumn('pn', 'integer', (c) => c.notNull())
        .addColumn('callback_url', 'text')
        .addColumn('status', 'integer', (c) => c.notNull())
        .addColumn('fail_reason', 'text')
        .addColumn('video_key', 'text')
        .addColumn('srt_key', 'text')
        .addColumn('cover_key', 'text')
        .addColumn('duration_ms', 'bigint')
        .addColumn('callback_status', 'integer', (c) => c.notNull().defaultTo(0))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('videos_app_id').on('videos').columns(['app_pk', 'id']).execute();
    },
  },
  '0004_uploads': {
    async up(db: Kysely<any>) {
      await db.schema.createTable('uploads')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('app_pk', 'bigint', (c) => c.notNull().references('apps.id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('format', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
    },
  },
  '0005_video_progress': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('videos').addColumn('progress', 'integer', (c) => c.notNull().defaultTo(0)).execute();
    },
  },
  '0006_app_access': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('apps').addColumn('disabled_at', 'bigint').execute();
      await db.schema.createTable('used_signatures')
        .addColumn('app_pk', 'bigint', (c) => c.notNull())
        .addColumn('timestamp', 'text', (c) => c.notNull())
        .addColumn('sign', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('used_signatures_pk', ['app_pk', 'timestamp', 'sign'])
        .execute();
      await db.schema.createIndex('used_signatures_expiry').on('used_signatures').column('expires_at').execute();
      // The live-token cap reads an app's newest tokens; expiry cleanup reads by expires_at.
      await db.schema.createIndex('tokens_app_created').on('tokens').columns(['app_pk', 'created_at']).execute();
    },
  },
  // The cloud's v2 endpoints: an avatar trained in front of a green screen, and a video's output fields (JSON OutputSpec).
  '0007_cloud_v2': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('trainings').addColumn('green_screen', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('videos').addColumn('output', 'text').execute();
    },
  },
  '0008_lipsync_bank': {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('scenes').addColumn('lipsync_key', 'text').execute();
      await db.schema.alterTable('scenes').addColumn('lipsync_video_key', 'text').execute();
      await db.schema.alterTable('trainings').addColumn('lipsync', 'text').execute();
    },
  },
  '0009_job_apps': {
    async up(db: Kysely<any>) {
      // The app a job works for, so the queue can claim fairly across apps and cap each one.
      // 0: a job older than the column whose task row is gone (it has nothing left to do).
      await db.schema.alterTable('jobs').addColumn('app_pk', 'bigint', (c) => c.notNull().defaultTo(0)).execute();
      await db.schema.alterTable('jobs').addColumn('claimed_at', 'bigint').execute();
      const owners: [string, string][] = [
        ['tts.synthesize', 'tts_syntheses'], ['training.run', 'trainings'], ['voice.clone', 'voices'],
        ['consent.verify', 'consents'], ['video.synthesize', 'videos'], ['callback.deliver', 'callbacks'],
      ];
      for (const [type, table] of owners) {
        await sql`update jobs set app_pk = coalesce((select t.app_pk from ${sql.table(table)} t where t.id = jobs.ref_id), 0) where type = ${type}`.execute(db);
      }
      await db.schema.createIndex('jobs_app_state').on('jobs').columns(['app_pk', 'state', 'run_at']).execute();
      await db.schema.createIndex('jobs_app_claimed').on('jobs').columns(['app_pk', 'claimed_at']).execute();
    },
  },
  '0010_consent_pitch': {
    async up(db: Kysely<any>) {
      // The consent recording's median pitch, to compare with the voice sample it allows cloning.
      await db.schema.alterTable('consents').addColumn('pitch_hz', 'real').execute();
    },
  },
});

class CodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: Dialect) {}
  async getMigrations() { return migrations(this.dialect); }
}

export async function migrate(db: Kysely<any>, dialect: Dialect): Promise<void> {
  const migrator = new Migrator({ db, provider: new CodeMigrations(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error)?.message ?? 'unknown error'}`);
  }
}
