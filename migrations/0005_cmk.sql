CREATE TABLE `cmk_data_keys` (
	`dek_id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`data_class` text NOT NULL,
	`slot` text NOT NULL,
	`cmk_key_id` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cmk_data_keys_account` ON `cmk_data_keys` (`account_id`,`data_class`,`slot`);--> statement-breakpoint
CREATE INDEX `cmk_data_keys_key` ON `cmk_data_keys` (`cmk_key_id`);--> statement-breakpoint
CREATE TABLE `cmk_jobs` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`kind` text NOT NULL,
	`from_key_id` text,
	`to_key_id` text,
	`state` text NOT NULL,
	`total` integer DEFAULT 0 NOT NULL,
	`done` integer DEFAULT 0 NOT NULL,
	`error` text DEFAULT '' NOT NULL,
	`started_at` integer NOT NULL,
	`finished_at` integer
);
--> statement-breakpoint
CREATE INDEX `cmk_jobs_account` ON `cmk_jobs` (`account_id`,`started_at`);--> statement-breakpoint
CREATE TABLE `cmk_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`provider` text NOT NULL,
	`key_ref` text NOT NULL,
	`replicas` text DEFAULT '[]' NOT NULL,
	`state` text NOT NULL,
	`created_at` integer NOT NULL,
	`created_by` text,
	`retired_at` integer
);
--> statement-breakpoint
CREATE INDEX `cmk_keys_account` ON `cmk_keys` (`account_id`,`state`);--> statement-breakpoint
CREATE TABLE `cmk_licences` (
	`account_id` text NOT NULL,
	`user_id` text NOT NULL,
	`granted_at` integer NOT NULL,
	PRIMARY KEY(`account_id`, `user_id`)
);
--> statement-breakpoint
CREATE TABLE `cmk_recipients` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`email_sealed` text NOT NULL,
	`email_index` text NOT NULL,
	`created_at` integer NOT NULL
);
--> statement-breakpoint
CREATE INDEX `cmk_recipients_account` ON `cmk_recipients` (`account_id`,`email_index`);--> statement-breakpoint
CREATE TABLE `cmk_settings` (
	`account_id` text PRIMARY KEY NOT NULL,
	`active_key_id` text,
	`services` text DEFAULT '[]' NOT NULL,
	`fallback` integer DEFAULT 0 NOT NULL,
	`drop_meetings` integer DEFAULT 0 NOT NULL,
	`status` text DEFAULT 'unknown' NOT NULL,
	`status_reason` text DEFAULT '' NOT NULL,
	`status_detail` text DEFAULT '' NOT NULL,
	`status_changed_at` integer,
	`last_checked_at` integer,
	`deprovision_at` integer,
	`deprovisioned_at` integer,
	`deprovisioned_key` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE TABLE `key_usage` (
	`seq` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`at` integer NOT NULL,
	`account_id` text NOT NULL,
	`op` text NOT NULL,
	`data_class` text NOT NULL,
	`purpose` text NOT NULL,
	`user_id` text,
	`slot` text NOT NULL,
	`provider` text NOT NULL,
	`dek_id` text NOT NULL,
	`outcome` text NOT NULL,
	`detail` text DEFAULT '' NOT NULL
);
--> statement-breakpoint
CREATE INDEX `key_usage_account_at` ON `key_usage` (`account_id`,`at`);