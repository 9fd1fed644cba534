<?php

declare(strict_types=1);

// Nextcloud STAND-IN (Nuagerie tests): upstream status.php's JSON (no login, works in
// maintenance mode; 400 JSON error for an untrusted Host).
try {
	require_once __DIR__ . '/lib/base.php';
	if (PHP_SAPI === 'cli') {
		print_r(\Standin\Console::statusValues());
		exit;
	}
	\Standin\Http::guard(true);
	$values = \Standin\Console::statusValues();
	header('Access-Control-Allow-Origin: *');
	header('Content-Type: application/json');
	echo json_encode($values);
} catch (\Throwable $e) {
	http_response_code(500);
	error_log('status.php: ' . $e->getMessage());
}
