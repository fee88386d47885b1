-- The key usage report is append-only: the database itself refuses edits and deletions.
CREATE TRIGGER `key_usage_no_update` BEFORE UPDATE ON `key_usage`
BEGIN SELECT RAISE(ABORT, 'key_usage is append-only'); END;
--> statement-breakpoint
CREATE TRIGGER `key_usage_no_delete` BEFORE DELETE ON `key_usage`
BEGIN SELECT RAISE(ABORT, 'key_usage is append-only'); END;
--> statement-breakpoint
-- Deleting an account removes its customer-managed-key settings with it (the usage report, like
-- the operation log, keeps its records; they hold ids, never content).
CREATE TRIGGER `cmk_account_deleted` AFTER DELETE ON `accounts`
BEGIN
  DELETE FROM `cmk_settings` WHERE `account_id` = OLD.`id`;
  DELETE FROM `cmk_keys` WHERE `account_id` = OLD.`id`;
  DELETE FROM `cmk_data_keys` WHERE `account_id` = OLD.`id`;
  DELETE FROM `cmk_licences` WHERE `account_id` = OLD.`id`;
  DELETE FROM `cmk_recipients` WHERE `account_id` = OLD.`id`;
  DELETE FROM `cmk_jobs` WHERE `account_id` = OLD.`id`;
END;
--> statement-breakpoint
-- A user's licence goes with the user.
CREATE TRIGGER `cmk_user_deleted` AFTER DELETE ON `users`
BEGIN
  DELETE FROM `cmk_licences` WHERE `account_id` = OLD.`account_id` AND `user_id` = OLD.`id`;
END;
