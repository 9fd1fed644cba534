<?php

declare(strict_types=1);

namespace Standin;

/**
 * The occ commands of the office apps (registered only while the app is enabled), reduced to
 * the connectivity check the farm relies on. The stand-in ships no office app: these are
 * NOT richdocuments or onlyoffice, only their commands' options, messages and exit codes.
 *
 * - richdocuments:activate-config: nextcloud/richdocuments lib/Command/ActivateConfig.php,
 *   lib/Service/ConnectivityService.php, lib/WOPI/Parser.php. The stand-in fetches
 *   <wopi_url>/hosting/discovery and parses it like upstream; it does not fetch
 *   /hosting/capabilities nor run the WOPI access check (it says so).
 * - onlyoffice:documentserver: ONLYOFFICE/onlyoffice-nextcloud lib/Command/DocumentServer.php,
 *   lib/AppConfig.php, lib/DocumentService.php (checkDocServiceUrl, healthcheckRequest). The
 *   stand-in GETs <internal url>healthcheck (body must be `true`); it does not ask the
 *   command service for the version nor test a conversion (it says so).
 */
final class Office {
	private const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';

	/**
	 * @param \Closure(string, string): ?string $getApp app value
	 * @param \Closure(string, string, string): void $setApp
	 * @param \Closure(string): void $line output
	 */
	public function __construct(private \Closure $getApp, private \Closure $setApp, private \Closure $line) {
	}

	private function out(string $s): void {
		($this->line)($s);
	}

	/**
	 * GET with a short timeout. Errors are exceptions with a message shaped like Nextcloud's
	 * HTTP client (Guzzle) gives them; the exact wording of connection errors differs.
	 *
	 * @return array{0: int, 1: string} status and body
	 */
	public static function get(string $url, bool $verify = true, int $timeout = 5): array {
		if (!preg_match('#^https?://#i', $url)) {
			throw new \RuntimeException(sprintf('cURL error 3: URL rejected: Malformed input to a URL function (see https://curl.haxx.se/libcurl/c/libcurl-errors.html) for %s', $url));
		}
		$context = stream_context_create([
			'http' => ['method' => 'GET', 'timeout' => $timeout, 'ignore_errors' => true, 'follow_location' => 0,
				'header' => "User-Agent: Nextcloud Server Crawler (stand-in)\r\n"],
			'ssl' => ['verify_peer' => $verify, 'verify_peer_name' => $verify],
		]);
		$error = null;
		set_error_handler(static function (int $no, string $msg) use (&$error): bool {
			$error = $msg;
			return true;
		});
		try {
			$body = file_get_contents($url, false, $context);
		} finally {
			restore_error_handler();
		}
		/** @var list<string> $http_response_header */
		$headers = $http_response_header ?? [];
		if ($body === false || !$headers) {
			throw new \RuntimeException(sprintf('cURL error 7: Failed to connect for %s: %s', $url,
				preg_replace('/^file_get_contents\([^)]*\): /', '', (string)$error)));
		}
		$status = preg_match('#^HTTP/\S+\s+(\d{3})\s*(.*)$#', $headers[0], $m) ? (int)$m[1] : 0;
		if ($status >= 400) {
			throw new \RuntimeException(sprintf('%s error: `GET %s` resulted in a `%d %s` response',
				$status >= 500 ? 'Server' : 'Client', $url, $status, trim($m[2] ?? '')));
		}
		return [$status, $body];
	}

	private function app(string $app, string $key, string $default = ''): string {
		return ($this->getApp)($app, $key) ?? $default;
	}

	// ------------------------------------------------------------ richdocuments

	/** Upstream AppConfig::domainOnly(): scheme://host[:port] of a URL. */
	public static function domainOnly(string $url): string {
		$p = parse_url($url);
		$scheme = $p['scheme'] ?? 'https';
		$port = isset($p['port']) ? ':' . $p['port'] : '';
		return isset($p['host']) ? $scheme . '://' . $p['host'] . $port : '';
	}

	/** Upstream WOPI\Parser::getUrlSrcValue(): first action of net-zone/app[@name=$name]. */
	public static function urlSrc(\SimpleXMLElement $discovery, string $name): string {
		$result = $discovery->xpath(sprintf("/wopi-discovery/net-zone/app[@name='%s']/action", $name));
		if ($result && count($result) > 0) {
			return (string)$result[0]['urlsrc'];
		}
		throw new \RuntimeException('Could not find urlsrc for ' . $name . ' in WOPI discovery response');
	}

	public function activateConfig(?string $wopiUrl, ?string $callbackUrl): int {
		if ($wopiUrl !== null) {
			($this->setApp)('richdocuments', 'wopi_url', $wopiUrl);
			$this->out('✓ Set WOPI url to ' . $wopiUrl);
		}
		if ($callbackUrl !== null) {
			($this->setApp)('richdocuments', 'wopi_callback_url', $callbackUrl);
			$this->out('✓ Set callback url to ' . $callbackUrl);
		} else {
			($this->setApp)('richdocuments', 'wopi_callback_url', '');
			$this->out('✓ Reset callback url autodetect');
		}
		$internal = $this->app('richdocuments', 'wopi_url');
		$public = fn () => $this->app('richdocuments', 'public_wopi_url') ?: $internal;
		$this->out('Checking configuration');
		$this->out('🛈 Configured WOPI URL: ' . $internal);
		$this->out('🛈 Configured public WOPI URL: ' . $public());
		$this->out('🛈 Configured callback URL: ' . $this->app('richdocuments', 'wopi_callback_url'));
		$this->out('');
		try {
			$verify = $this->app('richdocuments', 'disable_certificate_verification') !== 'yes';
			[, $body] = self::get(rtrim($internal, '/') . '/hosting/discovery', $verify);
			$this->out('✓ Fetched /hosting/discovery endpoint');
			$prev = libxml_use_internal_errors(true);
			$xml = simplexml_load_string($body);
			libxml_use_internal_errors($prev);
			if ($xml === false) {
				throw new \RuntimeException('Discovery response is not valid XML');
			}
			$docx = self::urlSrc($xml, self::DOCX);
			$this->out('✓ Valid mimetype response');
			self::urlSrc($xml, 'Capabilities');
			$this->out('✓ Valid capabilities entry');
		} catch (\Throwable $e) {
			$this->out('<error>Failed to fetch discovery endpoint from ' . $internal);
			$this->out($e->getMessage());
			return 1;
		}
		$this->out('stand-in: /hosting/capabilities and the WOPI access check are not tested');
		// Upstream ConnectivityService::autoConfigurePublicUrl(): public_wopi_url is REPLACED by
		// the scheme://host:port of the discovery's urlsrc (whatever was set before).
		($this->setApp)('richdocuments', 'public_wopi_url', self::domainOnly($docx));
		$this->out('');
		$this->out('Collabora URL (used for Nextcloud to contact the Collabora server):');
		$this->out('  ' . $internal);
		$this->out('Collabora public URL (used in the browser to open Collabora):');
		$this->out('  ' . $public());
		$this->out('Callback URL (used by Collabora to connect back to Nextcloud):');
		$callback = $this->app('richdocuments', 'wopi_callback_url');
		$this->out($callback === '' ? '  autodetected (will use the same URL as your user for browsing Nextcloud)' : '  ' . $callback);
		return 0;
	}

	// ------------------------------------------------------------ onlyoffice

	/** Upstream AppConfig::getSystemValue($key): the `onlyoffice` array of config.php. */
	private static function systemValue(string $key): ?string {
		$array = Server::$config->get('onlyoffice');
		return is_array($array) && isset($array[$key]) ? (string)$array[$key] : null;
	}

	/** Upstream AppConfig::getDocumentServerUrl(true): app value, else system value; ends with "/". */
	private function documentServerUrl(): string {
		$url = $this->app('onlyoffice', 'DocumentServerUrl') ?: (self::systemValue('DocumentServerUrl') ?? '');
		if ($url !== '/') {
			$url = rtrim($url, '/');
			$url = $url !== '' ? $url . '/' : '';
		}
		return $url;
	}

	/** Upstream AppConfig::getDocumentServerInternalUrl(): internal, else the public URL. */
	private function documentServerInternalUrl(): string {
		return $this->app('onlyoffice', 'DocumentServerInternalUrl') ?: (self::systemValue('DocumentServerInternalUrl') ?? '')
			?: $this->documentServerUrl();
	}

	private function verifyPeerOff(): bool {
		$off = $this->app('onlyoffice', 'verify_peer_off');
		return $off !== '' ? $off === 'true' : self::systemValue('verify_peer_off') === 'true';
	}

	/** Upstream DocumentService::checkDocServiceUrl(), up to the healthcheck: the error or ''. */
	private function checkDocServiceUrl(): string {
		// The absolute URL of Nextcloud in occ comes from overwrite.cli.url.
		if (preg_match('/^https:\/\//i', (string)Server::$config->get('overwrite.cli.url', ''))
			&& preg_match('/^http:\/\//i', $this->documentServerUrl())) {
			return 'Mixed Active Content is not allowed. HTTPS address for ONLYOFFICE Docs is required.';
		}
		try {
			$internal = $this->documentServerInternalUrl();
			if ($internal === '') {
				throw new \RuntimeException('ONLYOFFICE app is not configured. Please contact admin');
			}
			$url = $internal . 'healthcheck';
			[, $body] = self::get($url, !(str_starts_with($url, 'https') && $this->verifyPeerOff()));
			if ($body !== 'true') {
				throw new \RuntimeException('Bad healthcheck status');
			}
		} catch (\Throwable $e) {
			return $e->getMessage();
		}
		return '';
	}

	public function documentServer(bool $check): int {
		$documentserver = $this->documentServerUrl();
		if ($documentserver === '') {
			$this->out('<info>Document server is not configured</info>');
			return 1;
		}
		if ($check) {
			$error = $this->checkDocServiceUrl();
			($this->setApp)('onlyoffice', 'settings_error', $error);
			if ($error !== '') {
				$this->out("<error>Error connection: $error</error>");
				return 1;
			}
			$this->out('stand-in: healthcheck only; the version command and a test conversion are not tried');
			$this->out("<info>Document server $documentserver version (not asked by the stand-in) is successfully connected</info>");
			return 0;
		}
		$this->out("<info>The current document server: $documentserver</info>");
		return 0;
	}
}
