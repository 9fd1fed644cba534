<?php

declare(strict_types=1);

// Nextcloud STAND-IN (Nuagerie tests): cron.php like upstream's entry checks (CLI owner of
// config.php, skip during upgrade or maintenance). It runs no jobs: it records the run in
// appconfig core/lastcron like upstream and logs one line with overwrite.cli.url.
require_once __DIR__ . '/lib/base.php';

use Standin\Server;

try {
	// Upstream lib/base.php init() (required before cron.php's own checks): checkServer errors
	// are printed and kept in appconfig core/cronErrors, exit 1 (a web request gets the 503 page).
	$errors = Server::checkServer();
	if ($errors) {
		if (PHP_SAPI !== 'cli') {
			\Standin\Http::checkServer();
		}
		foreach ($errors as $error) {
			echo $error['error'] . "\n";
			echo $error['hint'] . "\n\n";
		}
		try {
			Server::db()->setAppValue('core', 'cronErrors', json_encode($errors));
		} catch (\Throwable $e) {
			echo('Writing to database failed');
		}
		exit(1);
	}
	if (PHP_SAPI !== 'cli') {
		http_response_code(403);
		exit;
	}
	// Upstream cron.php: strict comparison, so a missing config.php (no owner) refuses too.
	$configUser = @fileowner(Server::$configDir . 'config.php');
	if (posix_getuid() !== $configUser) {
		echo "Console has to be executed with the user that owns the file config/config.php\n";
		echo 'Current user id: ' . posix_getuid() . "\n";
		echo 'Owner id of config.php: ' . $configUser . "\n";
		exit(1);
	}
	if (!Server::installed()) {
		exit(0);
	}
	if (Server::needUpgrade()) {
		Server::log()->debug('Update required, skipping cron', 'cron');
		exit(0);
	}
	if (Server::maintenance()) {
		Server::log()->debug('We are in maintenance mode, skipping cron', 'cron');
		exit(0);
	}
	$db = Server::db();
	if ($db->getAppValue('core', 'backgroundjobs_mode') !== 'cron') {
		$db->setAppValue('core', 'backgroundjobs_mode', 'cron'); // upstream switches ajax → cron too
	}
	$db->setAppValue('core', 'lastcron', (string)time());
	Server::log()->info('stand-in cron ran for ' . Server::$config->get('overwrite.cli.url', ''), 'cron');
} catch (\Throwable $e) {
	Server::log()->error('cron.php: ' . $e->getMessage(), 'cron');
	fwrite(STDERR, $e->getMessage() . "\n");
	exit(1);
}
