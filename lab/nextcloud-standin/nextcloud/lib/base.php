<?php

declare(strict_types=1);

/*
 * Nextcloud STAND-IN (Nuagerie tests): NOT Nextcloud. A small PHP program that installs and
 * runs like a Nextcloud release (same entry points, occ commands, config files and
 * NEXTCLOUD_CONFIG_DIR) so the farm's roles can be tested where the real release archive
 * cannot be downloaded. It really uses the generated config: PostgreSQL (PDO pgsql),
 * S3 primary storage (SigV4 over curl), Redis locking (php-redis) and syslog.
 * See docs/nextcloud-contract.md in the Nuagerie repository.
 */

spl_autoload_register(static function (string $class): void {
	if (str_starts_with($class, 'Standin\\')) {
		$file = __DIR__ . '/private/Standin/' . substr($class, 8) . '.php';
		if (is_file($file)) {
			require_once $file;
		}
	}
});
require_once __DIR__ . '/private/Standin/Config.php';

\Standin\Server::boot(dirname(__DIR__));

// Upstream lib/base.php OC::checkConfig() (run by init() for every entry point, occ and cron.php
// included): create config.php if it does not exist yet, as the current user; a user who cannot
// write the config dir leaves it missing, and the owner checks below then refuse it.
if (!file_exists(\Standin\Server::$configDir . 'config.php')) {
	@touch(\Standin\Server::$configDir . 'config.php');
}
