CREATE TABLE `data_keys` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`data_class` text NOT NULL,
	`version` integer NOT NULL,
	`wrapped` text NOT NULL,
	`wrapped_by` text NOT NULL,
	`status` text NOT NULL,
	`invocations` integer DEFAULT 0 NOT NULL,
	`created_at` integer NOT NULL,
	`retired_at` integer
);
--> statement-breakpoint
CREATE INDEX `data_keys_account_class` ON `data_keys` (`account_id`,`data_class`,`status`);--> statement-breakpoint
CREATE UNIQUE INDEX `data_keys_version` ON `data_keys` (`account_id`,`data_class`,`version`);