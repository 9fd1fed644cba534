<?php

declare(strict_types=1);

// Nextcloud STAND-IN (Nuagerie tests): WebDAV at /remote.php/dav/files/<user>/<path> and
// /remote.php/webdav/<path>, basic auth, bodies in the space's S3 bucket.
require_once __DIR__ . '/lib/base.php';

use Standin\Dav;
use Standin\Http;
use Standin\Server;

Http::guard(true); // trusted domain check only; maintenance gives a DAV error below
try {
	if (!Server::installed() || Server::needUpgrade() || Server::maintenance()) {
		Dav::error(503, 'Sabre\DAV\Exception\ServiceUnavailable', 'System is in maintenance mode.');
	}
	(new Dav())->handle(Http::pathInfo('remote.php'));
} catch (\Throwable $e) {
	Server::log()->error('remote.php: ' . get_class($e) . ': ' . $e->getMessage(), 'webdav');
	Dav::error(500, get_class($e), 'Internal Server Error');
}
