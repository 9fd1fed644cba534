<?php

declare(strict_types=1);

namespace Standin;

/**
 * Logging like upstream lib/private/Log/{Syslog,File,Errorlog}.php: `log_type` syslog opens
 * syslog with `syslog_tag` (default "Nextcloud"), LOG_PID|LOG_CONS, facility LOG_USER, and
 * writes one JSON object per entry; entries below `loglevel` (default 2 = warning) are dropped.
 */
final class Log {
	public const LEVELS = [0 => LOG_DEBUG, 1 => LOG_INFO, 2 => LOG_WARNING, 3 => LOG_ERR, 4 => LOG_CRIT];
	private bool $opened = false;

	public function __construct(private Config $config) {
	}

	public function debug(string $m, string $app = 'core'): void { $this->write(0, $m, $app); }
	public function info(string $m, string $app = 'core'): void { $this->write(1, $m, $app); }
	public function warning(string $m, string $app = 'core'): void { $this->write(2, $m, $app); }
	public function error(string $m, string $app = 'core'): void { $this->write(3, $m, $app); }

	/** The JSON entry upstream's LogDetails builds (a subset of its fields). */
	public function entry(int $level, string $message, string $app): string {
		return json_encode([
			'reqId' => Http::requestId(),
			'level' => $level,
			'time' => gmdate('Y-m-d\TH:i:sP'),
			'remoteAddr' => $_SERVER['REMOTE_ADDR'] ?? '',
			'user' => Http::$user ?? '--',
			'app' => $app,
			'method' => $_SERVER['REQUEST_METHOD'] ?? '',
			'url' => $_SERVER['REQUEST_URI'] ?? '--',
			'message' => $message,
			'userAgent' => $_SERVER['HTTP_USER_AGENT'] ?? '--',
			'version' => Server::versionDotted(),
		], JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
	}

	public function write(int $level, string $message, string $app = 'core'): void {
		if ($level < (int)$this->config->get('loglevel', 2)) {
			return;
		}
		$entry = $this->entry($level, $message, $app);
		switch ($this->config->get('log_type', 'file')) {
			case 'syslog':
				if (!$this->opened) {
					openlog((string)$this->config->get('syslog_tag', 'Nextcloud'), LOG_PID | LOG_CONS, LOG_USER);
					$this->opened = true;
				}
				syslog(self::LEVELS[$level] ?? LOG_WARNING, $entry);
				break;
			case 'errorlog':
				error_log($entry);
				break;
			default:
				$file = (string)$this->config->get('logfile',
					rtrim((string)$this->config->get('datadirectory', Server::$root . '/data'), '/') . '/nextcloud.log');
				@file_put_contents($file, $entry . "\n", FILE_APPEND | LOCK_EX);
		}
	}
}
