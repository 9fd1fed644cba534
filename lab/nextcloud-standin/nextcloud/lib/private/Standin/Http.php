<?php

declare(strict_types=1);

namespace Standin;

/**
 * The request checks of upstream lib/base.php, in its order: checkServer (503 error page, e.g.
 * no `.ncdata` in the data directory), trusted domain (400; status.php gets a JSON error),
 * then upgrade needed / maintenance mode (503 with Retry-After).
 * Host: X-Forwarded-Host only from `trusted_proxies`, `overwritehost` wins; protocol:
 * `overwriteprotocol`, else X-Forwarded-Proto from a trusted proxy, else the connection.
 */
final class Http {
	public static ?string $user = null;
	private static ?string $reqId = null;

	public static function requestId(): string {
		return self::$reqId ??= (string)($_SERVER['HTTP_X_REQUEST_ID'] ?? bin2hex(random_bytes(10)));
	}

	public static function fromTrustedProxy(): bool {
		$remote = $_SERVER['REMOTE_ADDR'] ?? '';
		foreach ((array)Server::$config->get('trusted_proxies', []) as $proxy) {
			if (self::inCidr($remote, (string)$proxy)) {
				return true;
			}
		}
		return false;
	}

	public static function inCidr(string $ip, string $cidr): bool {
		if (!str_contains($cidr, '/')) {
			return $ip === $cidr;
		}
		[$net, $bits] = explode('/', $cidr, 2);
		$a = @inet_pton($ip);
		$b = @inet_pton($net);
		if ($a === false || $b === false || strlen($a) !== strlen($b)) {
			return false;
		}
		$bits = (int)$bits;
		$bytes = intdiv($bits, 8);
		if (substr($a, 0, $bytes) !== substr($b, 0, $bytes)) {
			return false;
		}
		$rest = $bits % 8;
		return $rest === 0 || ((ord($a[$bytes]) ^ ord($b[$bytes])) & (0xFF << (8 - $rest)) & 0xFF) === 0;
	}

	public static function host(): string {
		$overwrite = (string)Server::$config->get('overwritehost', '');
		if ($overwrite !== '') {
			return $overwrite;
		}
		if (isset($_SERVER['HTTP_X_FORWARDED_HOST']) && self::fromTrustedProxy()) {
			return trim(explode(',', $_SERVER['HTTP_X_FORWARDED_HOST'])[0]);
		}
		return (string)($_SERVER['HTTP_HOST'] ?? $_SERVER['SERVER_NAME'] ?? 'localhost');
	}

	public static function protocol(): string {
		$overwrite = (string)Server::$config->get('overwriteprotocol', '');
		if ($overwrite !== '') {
			return strtolower($overwrite);
		}
		if (isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && self::fromTrustedProxy()) {
			return strtolower(trim(explode(',', $_SERVER['HTTP_X_FORWARDED_PROTO'])[0]));
		}
		return (!empty($_SERVER['HTTPS']) && $_SERVER['HTTPS'] !== 'off') ? 'https' : 'http';
	}

	/** Upstream TrustedDomainHelper: port stripped, case-insensitive, "*" wildcards. */
	public static function isTrustedDomain(string $host): bool {
		if (!Server::installed()) {
			return true;
		}
		$host = strtolower(preg_replace('/:\d+$/', '', $host) ?? $host);
		$host = trim($host, '[]');
		foreach ((array)Server::$config->get('trusted_domains', []) as $trusted) {
			$trusted = strtolower(preg_replace('/:\d+$/', '', (string)$trusted) ?? '');
			$re = '/^' . str_replace('\*', '[-\.a-zA-Z0-9]*', preg_quote($trusted, '/')) . '$/';
			if ($trusted !== '' && preg_match($re, $host)) {
				return true;
			}
		}
		return false;
	}

	public static function page(int $code, string $title, string $body, array $headers = []): never {
		http_response_code($code);
		header('Content-Type: text/html; charset=utf-8');
		foreach ($headers as $h) {
			header($h);
		}
		$t = htmlspecialchars($title);
		echo "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>$t - " . htmlspecialchars(Server::PRODUCT_NAME)
			. "</title></head>\n<body class=\"guest\"><main><h2>$t</h2>\n$body\n<p><small>" . htmlspecialchars(Server::PRODUCT_NAME)
			. " " . htmlspecialchars(Server::$versionString) . "</small></p></main></body></html>\n";
		exit;
	}

	/**
	 * Upstream lib/base.php init(): OC_Util::checkServer() runs for EVERY web request (status.php
	 * and remote.php included), before the trusted-domain check: errors → 503 and the guest
	 * "error" page listing each error and hint.
	 */
	public static function checkServer(): void {
		$errors = Server::checkServer();
		if ($errors) {
			$items = '';
			foreach ($errors as $e) {
				$items .= '<li class="error">' . htmlspecialchars($e['error']) . '<br><p class="hint">' . htmlspecialchars($e['hint']) . "</p></li>\n";
			}
			self::page(503, 'Error', "<ul>\n$items</ul>");
		}
	}

	/** Run the checks every entry point but status.php runs; exits with the error page. */
	public static function guard(bool $statusPhp = false): void {
		self::checkServer();
		$host = self::host();
		if (!self::isTrustedDomain($host)) {
			Server::log()->info(sprintf('Trusted domain error. "%s" tried to access using "%s" as host.', $_SERVER['REMOTE_ADDR'] ?? '', $host));
			if ($statusPhp) {
				http_response_code(400);
				header('Content-Type: application/json');
				echo '{"error": "Trusted domain error.", "code": 15}';
				exit;
			}
			self::page(400, 'Access through untrusted domain',
				'<p>Please contact your administrator. If you are an administrator, edit the "trusted_domains" setting in config/config.php like the example in config.sample.php.</p>');
		}
		Server::checkCaches();
		if ($statusPhp) {
			return;
		}
		if (!Server::installed()) {
			self::page(503, 'Not installed', '<p>stand-in: run <code>occ maintenance:install</code> (no web installer).</p>', ['Retry-After: 120']);
		}
		if (Server::needUpgrade()) {
			self::page(503, 'Update needed', '<p>Please use the command line updater because updating via browser is disabled in your config.php.</p>', ['Retry-After: 120']);
		}
		if (Server::maintenance()) {
			self::page(503, 'Maintenance mode', '<p>This Nextcloud instance is currently in maintenance mode, which may take a while.</p><p>This page will refresh itself when the instance is available again.</p>',
				['X-Nextcloud-Maintenance-Mode: 1', 'Retry-After: 120']);
		}
	}

	public static function pathInfo(string $script): string {
		if (isset($_SERVER['PATH_INFO']) && $_SERVER['PATH_INFO'] !== '') {
			return (string)$_SERVER['PATH_INFO'];
		}
		$uri = (string)parse_url((string)($_SERVER['REQUEST_URI'] ?? '/'), PHP_URL_PATH);
		$pos = strpos($uri, '/' . $script);
		return $pos === false ? $uri : substr($uri, $pos + strlen($script) + 1);
	}
}
