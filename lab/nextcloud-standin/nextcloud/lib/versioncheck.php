<?php

declare(strict_types=1);

// Nextcloud STAND-IN (Nuagerie tests): the PHP range check every upstream entry point runs
// first (upstream lib/versioncheck.php): outside the range it prints why and exits 1, so
// `php -r 'require "<release>/lib/versioncheck.php";'` tells whether a release runs on this PHP.
if (PHP_VERSION_ID < 80100 || PHP_VERSION_ID >= 80500) {
	http_response_code(500);
	echo 'This version of Nextcloud requires PHP 8.1 to 8.4. You are currently running ' . PHP_VERSION . '.';
	exit(1);
}
