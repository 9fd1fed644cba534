<?php

declare(strict_types=1);

// Nextcloud STAND-IN (Nuagerie tests): the front controller. Only the login page and the
// preview and office routes exist: GET /login (or /index.php/login) returns upstream's form fields;
// GET /core/preview?fileId=&x=&y= (basic auth) gives a preview through Imaginary (Preview.php);
// /apps/richdocuments/… and /apps/onlyoffice/… answer the office servers (OfficeEndpoints.php);
// everything else redirects to the login page like upstream does for an anonymous visitor.
require_once __DIR__ . '/lib/base.php';

use Standin\Dav;
use Standin\Http;
use Standin\OfficeEndpoints;
use Standin\Preview;
use Standin\Server;

try {
	Http::guard();
	$path = Http::pathInfo('index.php');
	$base = (getenv('front_controller_active') === 'true' || ($_SERVER['front_controller_active'] ?? '') === 'true') ? '' : '/index.php';
	// The office apps' callback endpoints (issue 13), while the app is enabled.
	if (str_starts_with($path, '/apps/')) {
		(new OfficeEndpoints())->handle($path);
	}
	if ($path === '/core/preview' && in_array($_SERVER['REQUEST_METHOD'] ?? 'GET', ['GET', 'HEAD'], true)) {
		(new Preview())->handle((new Dav())->authenticate());
		exit;
	}
	if ($path === '/login' && in_array($_SERVER['REQUEST_METHOD'] ?? 'GET', ['GET', 'HEAD'], true)) {
		header('X-Frame-Options: SAMEORIGIN');
		Http::page(200, 'Login', '<form method="post" name="login" action="' . htmlspecialchars($base . '/login') . '">'
			. '<input type="text" name="user" id="user" autocomplete="username" required>'
			. '<input type="password" name="password" id="password" autocomplete="current-password" required>'
			. '<input type="hidden" name="requesttoken" value="' . bin2hex(random_bytes(16)) . '">'
			. '<button type="submit">Log in</button></form>'
			. '<p>stand-in: logging in through the browser is not implemented; use WebDAV with basic auth.</p>');
	}
	if ($path === '/login') {
		Http::page(501, 'Not implemented', '<p>stand-in: browser login is not implemented.</p>');
	}
	header('Location: ' . Http::protocol() . '://' . Http::host() . $base . '/login');
	http_response_code(302);
} catch (\Throwable $e) {
	Server::log()->error('index.php: ' . $e->getMessage());
	Http::page(500, 'Internal Server Error', '<p>The server was unable to complete your request.</p>');
}
