CREATE TABLE `meeting_chat` (
	`id` text PRIMARY KEY NOT NULL,
	`meeting_id` text NOT NULL,
	`account_id` text NOT NULL,
	`participant_id` text NOT NULL,
	`text_sealed` text NOT NULL,
	`at` integer NOT NULL,
	FOREIGN KEY (`meeting_id`) REFERENCES `meetings`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `meeting_chat_meeting` ON `meeting_chat` (`meeting_id`,`at`);--> statement-breakpoint
CREATE TABLE `meeting_participants` (
	`id` text PRIMARY KEY NOT NULL,
	`meeting_id` text NOT NULL,
	`account_id` text NOT NULL,
	`user_id` text,
	`name_sealed` text NOT NULL,
	`internal` integer NOT NULL,
	`host` integer NOT NULL,
	`ip_sealed` text NOT NULL,
	`device_sealed` text NOT NULL,
	`arrived_at` integer NOT NULL,
	`joined_at` integer,
	`left_at` integer,
	`left_reason` text,
	`stats` text DEFAULT '{}' NOT NULL,
	FOREIGN KEY (`meeting_id`) REFERENCES `meetings`(`id`) ON UPDATE no action ON DELETE cascade,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `meeting_participants_meeting` ON `meeting_participants` (`meeting_id`,`arrived_at`);--> statement-breakpoint
CREATE INDEX `meeting_participants_account` ON `meeting_participants` (`account_id`);--> statement-breakpoint
CREATE TABLE `meetings` (
	`id` text PRIMARY KEY NOT NULL,
	`account_id` text NOT NULL,
	`owner_user_id` text NOT NULL,
	`number` text NOT NULL,
	`kind` text NOT NULL,
	`topic_sealed` text NOT NULL,
	`description_sealed` text NOT NULL,
	`start_at` integer NOT NULL,
	`duration_minutes` integer NOT NULL,
	`recurrence` text DEFAULT 'none' NOT NULL,
	`recurrence_count` integer,
	`passcode_sealed` text NOT NULL,
	`passcode_index` text NOT NULL,
	`dial_passcode_sealed` text NOT NULL,
	`dial_passcode_index` text NOT NULL,
	`link_token_sealed` text NOT NULL,
	`link_token_index` text NOT NULL,
	`overrides` text DEFAULT '{}' NOT NULL,
	`status` text DEFAULT 'scheduled' NOT NULL,
	`started_at` integer,
	`ended_at` integer,
	`created_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	`updated_at` integer DEFAULT (CAST(unixepoch('subsec') * 1000 AS INTEGER)) NOT NULL,
	FOREIGN KEY (`account_id`) REFERENCES `accounts`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `meetings_number` ON `meetings` (`number`);--> statement-breakpoint
CREATE INDEX `meetings_account_owner` ON `meetings` (`account_id`,`owner_user_id`,`start_at`);