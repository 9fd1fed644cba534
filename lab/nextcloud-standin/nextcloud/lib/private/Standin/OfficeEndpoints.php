<?php

declare(strict_types=1);

namespace Standin;

/**
 * The HTTP endpoints of the office apps that the office servers call back (issue 13), each
 * registered only while its app is enabled in the space, like upstream's routes. The stand-in
 * ships no office app: these are NOT richdocuments or onlyoffice, only the calls the farm's
 * tests make, with upstream's paths, checks and answers (docs/nextcloud-contract.yml, http).
 *
 * richdocuments (nextcloud/richdocuments lib/Controller/WopiController.php, DocumentController):
 * - POST /apps/richdocuments/token (fileId; basic auth): {token, token_ttl}; the stand-in adds
 *   wopiSrc (upstream puts both into the editor page).
 * - GET /apps/richdocuments/wopi/files/<fileid>_<instanceid> (CheckFileInfo) and .../contents
 *   (GetFile), ?access_token=: like upstream's WOPIMiddleware, 403 with an empty JSON array
 *   when the caller's address is not in wopi_allowlist (separated by spaces , ; |; empty = any)
 *   or when the token is not one for that file id (the instance id part is ignored, as
 *   Helper::parseFileId's callers do).
 * onlyoffice (ONLYOFFICE/onlyoffice-nextcloud lib/Controller/EditorApiController.php,
 * CallbackController.php):
 * - GET /apps/onlyoffice/ajax/config/<fileid> (basic auth): the editor configuration
 *   {document: {key, url, title, fileType}, editorConfig: {callbackUrl}, token} signed with
 *   jwt_secret (HS256).
 * - GET /apps/onlyoffice/download?doc=<hash>: the file; with jwt_secret set, 403 unless the
 *   jwt_header (Bearer) token verifies.
 * - POST /apps/onlyoffice/track?doc=<hash>: {key, status, url}; with jwt_secret set the body's
 *   token or the header's must verify (403 {"message": "Access denied"} otherwise); status 2
 *   or 6: the file at url is downloaded and written (the space's bucket); {"error": 0}.
 * Tokens of the stand-in (upstream keeps WOPI tokens in a table and encrypts onlyoffice's
 * doc hash): HMAC-SHA256 with the space's `secret` over {uid, fileId, purpose, exp}.
 */
final class OfficeEndpoints {
	private const TTL = 3600;

	public static function b64(string $s): string {
		return rtrim(strtr(base64_encode($s), '+/', '-_'), '=');
	}

	public static function unb64(string $s): string {
		return (string)base64_decode(strtr($s, '-_', '+/'), true);
	}

	/** HS256 JWT like firebase/php-jwt (what the onlyoffice app uses). */
	public static function jwtEncode(array $payload, string $secret): string {
		$data = self::b64(json_encode(['alg' => 'HS256', 'typ' => 'JWT'])) . '.' . self::b64(json_encode($payload));
		return $data . '.' . self::b64(hash_hmac('sha256', $data, $secret, true));
	}

	/** The payload of a valid HS256 token, or null. */
	public static function jwtDecode(string $token, string $secret): ?array {
		$parts = explode('.', $token);
		if (count($parts) !== 3) {
			return null;
		}
		$head = json_decode(self::unb64($parts[0]), true);
		if (!is_array($head) || ($head['alg'] ?? '') !== 'HS256') {
			return null;
		}
		if (!hash_equals(hash_hmac('sha256', $parts[0] . '.' . $parts[1], $secret, true), self::unb64($parts[2]))) {
			return null;
		}
		$payload = json_decode(self::unb64($parts[1]), true);
		if (!is_array($payload) || (isset($payload['exp']) && $payload['exp'] + 60 < time())) {
			return null;
		}
		return $payload;
	}

	private function secret(): string {
		return (string)Server::$config->get('secret', '');
	}

	private function mint(string $uid, int $fileId, string $purpose): string {
		return self::jwtEncode(['uid' => $uid, 'fileId' => $fileId, 'purpose' => $purpose, 'exp' => time() + self::TTL], $this->secret());
	}

	private function check(string $token, string $purpose): ?array {
		$p = self::jwtDecode($token, $this->secret());
		return ($p !== null && ($p['purpose'] ?? '') === $purpose) ? $p : null;
	}

	private static function json(int $code, array $doc): never {
		http_response_code($code);
		header('Content-Type: application/json; charset=utf-8');
		echo json_encode($doc, JSON_UNESCAPED_SLASHES);
		exit;
	}

	private function appEnabled(string $app): bool {
		return Server::db()->getAppValue($app, 'enabled') === 'yes';
	}

	private function base(): string {
		return Http::protocol() . '://' . Http::host() . '/index.php';
	}

	/** A file of a user's home by id: [storage row uid, entry], or null. */
	private function file(int $fileId): ?array {
		$db = Server::db();
		$e = $db->q('SELECT f.*, s.id AS storage_id FROM *PREFIX*filecache f JOIN *PREFIX*storages s ON s.numeric_id = f.storage WHERE f.fileid = ?', [$fileId])->fetch();
		if (!$e || $e['mimetype'] === 'httpd/unix-directory' || !str_starts_with((string)$e['storage_id'], 'object::user:')) {
			return null;
		}
		return [substr((string)$e['storage_id'], strlen('object::user:')), $e];
	}

	private function contents(array $e): string {
		return Server::storage()->get(Server::storage()->urn((int)$e['fileid']));
	}

	/** Write new contents into an existing file (its object in the bucket, size, etag). */
	private function write(array $e, string $body): void {
		$s3 = Server::storage();
		$s3->put($s3->urn((int)$e['fileid']), $body);
		Server::db()->updateEntry((int)$e['fileid'], strlen($body));
	}

	/** Route a path of index.php; false when it is not an office route (or the app is off). */
	public function handle(string $path): bool {
		$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
		if (str_starts_with($path, '/apps/richdocuments/')) {
			if (!$this->appEnabled('richdocuments')) {
				return false;
			}
			if ($path === '/apps/richdocuments/token' && $method === 'POST') {
				$this->wopiToken();
			}
			if (preg_match('#^/apps/richdocuments/wopi/files/([0-9]+)_([a-z0-9]+)(/contents)?$#', $path, $m) && $method === 'GET') {
				$this->wopi((int)$m[1], $m[2], isset($m[3]));
			}
			return false;
		}
		if (str_starts_with($path, '/apps/onlyoffice/')) {
			if (!$this->appEnabled('onlyoffice')) {
				return false;
			}
			if (preg_match('#^/apps/onlyoffice/ajax/config/([0-9]+)$#', $path, $m) && $method === 'GET') {
				$this->ooConfig((int)$m[1]);
			}
			if ($path === '/apps/onlyoffice/download' && $method === 'GET') {
				$this->ooDownload();
			}
			if ($path === '/apps/onlyoffice/track' && $method === 'POST') {
				$this->ooTrack();
			}
		}
		return false;
	}

	// ------------------------------------------------------------ richdocuments

	private function wopiToken(): never {
		$uid = (new Dav())->authenticate();
		$fileId = (int)($_POST['fileId'] ?? $_GET['fileId'] ?? 0);
		$f = $this->file($fileId);
		if ($f === null || $f[0] !== $uid) {
			self::json(404, ['message' => 'File not found']);
		}
		$instance = (string)Server::$config->get('instanceid', '');
		self::json(200, ['token' => $this->mint($uid, $fileId, 'wopi'), 'token_ttl' => (time() + self::TTL) * 1000,
			'wopiSrc' => $this->base() . '/apps/richdocuments/wopi/files/' . $fileId . '_' . $instance]);
	}

	/** Upstream WOPIMiddleware::isWOPIAllowed(): remote address in wopi_allowlist, empty = any. */
	private function wopiAllowed(): bool {
		$list = (string)(Server::db()->getAppValue('richdocuments', 'wopi_allowlist') ?? '');
		$entries = array_filter(array_map('trim', preg_split('/[\s,;|]+/', $list) ?: []));
		if (!$entries) {
			return true;
		}
		$ip = (string)($_SERVER['REMOTE_ADDR'] ?? '');
		foreach ($entries as $entry) {
			if (Http::inCidr($ip, str_contains($entry, '/') ? $entry : $entry . (str_contains($entry, ':') ? '/128' : '/32'))) {
				return true;
			}
		}
		return false;
	}

	private function wopi(int $fileId, string $instance, bool $contents): never {
		if (!$this->wopiAllowed()) {
			Server::log()->warning(sprintf('WOPI request denied from %s as it does not match the configured ranges: %s', $_SERVER['REMOTE_ADDR'] ?? '',
				(string)Server::db()->getAppValue('richdocuments', 'wopi_allowlist')), 'richdocuments');
			self::json(403, []);
		}
		$token = $this->check((string)($_GET['access_token'] ?? ''), 'wopi');
		if ($token === null || (int)$token['fileId'] !== $fileId) {
			Server::log()->info('Invalid token for WOPI access', 'richdocuments');
			self::json(403, []);
		}
		$f = $this->file($fileId) ?? self::json(404, ['message' => 'File not found']);
		[$uid, $e] = $f;
		if ($contents) {
			$body = $this->contents($e);
			header('Content-Type: application/octet-stream');
			header('Content-Length: ' . strlen($body));
			header('X-WOPI-ItemVersion: ' . $e['etag']);
			echo $body;
			exit;
		}
		self::json(200, ['BaseFileName' => $e['name'], 'Size' => (int)$e['size'], 'Version' => $e['etag'],
			'OwnerId' => $uid, 'UserId' => $token['uid'], 'UserFriendlyName' => $token['uid'], 'UserCanWrite' => true,
			'PostMessageOrigin' => Http::protocol() . '://' . Http::host(), 'LastModifiedTime' => gmdate('Y-m-d\TH:i:s.000\Z', (int)$e['mtime'])]);
	}

	// ------------------------------------------------------------ onlyoffice

	/** Upstream AppConfig: app value, else config.php's onlyoffice array. */
	private function ooValue(string $key, string $default = ''): string {
		$v = Server::db()->getAppValue('onlyoffice', $key);
		if ($v !== null && $v !== '') {
			return $v;
		}
		$system = Server::$config->get('onlyoffice');
		return is_array($system) && isset($system[$key]) ? (string)$system[$key] : $default;
	}

	private function ooConfig(int $fileId): never {
		$uid = (new Dav())->authenticate();
		$f = $this->file($fileId);
		if ($f === null || $f[0] !== $uid) {
			self::json(404, ['error' => 'File not found']);
		}
		$e = $f[1];
		$instance = (string)Server::$config->get('instanceid', '');
		$config = [
			'document' => ['fileType' => pathinfo((string)$e['name'], PATHINFO_EXTENSION), 'title' => $e['name'],
				// Upstream keys a document by instance and file (oc_onlyoffice_filekey), a new key once saved.
				'key' => substr(hash('sha256', $instance . '_' . $fileId . '_' . $e['etag']), 0, 20),
				'url' => $this->base() . '/apps/onlyoffice/download?doc=' . $this->mint($uid, $fileId, 'download')],
			'documentType' => 'word',
			'editorConfig' => ['callbackUrl' => $this->base() . '/apps/onlyoffice/track?doc=' . $this->mint($uid, $fileId, 'track'),
				'user' => ['id' => $uid, 'name' => $uid]],
		];
		$secret = $this->ooValue('jwt_secret');
		if ($secret !== '') {
			$config['token'] = self::jwtEncode($config, $secret);
		}
		self::json(200, $config);
	}

	/** The jwt_header's Bearer token, verified with jwt_secret (null when missing or bad). */
	private function ooHeaderToken(string $secret): ?array {
		$name = 'HTTP_' . strtoupper(str_replace('-', '_', $this->ooValue('jwt_header', 'Authorization')));
		$header = (string)($_SERVER[$name] ?? ($name === 'HTTP_AUTHORIZATION' ? ($_SERVER['REDIRECT_HTTP_AUTHORIZATION'] ?? '') : ''));
		return str_starts_with($header, 'Bearer ') ? self::jwtDecode(substr($header, 7), $secret) : null;
	}

	private function ooDownload(): never {
		$doc = $this->check((string)($_GET['doc'] ?? ''), 'download') ?? self::json(403, ['message' => 'Access denied']);
		$secret = $this->ooValue('jwt_secret');
		if ($secret !== '' && $this->ooHeaderToken($secret) === null) {
			Server::log()->error('Download: the token of the document server does not verify', 'onlyoffice');
			self::json(403, ['message' => 'Access denied']);
		}
		$f = $this->file((int)$doc['fileId']) ?? self::json(404, ['message' => 'File not found']);
		$body = $this->contents($f[1]);
		header('Content-Type: application/octet-stream');
		header('Content-Length: ' . strlen($body));
		echo $body;
		exit;
	}

	private function ooTrack(): never {
		// Upstream: "Track with empty or not correct hash" -> 403 Access denied.
		$doc = $this->check((string)($_GET['doc'] ?? ''), 'track') ?? self::json(403, ['message' => 'Access denied']);
		$data = json_decode((string)file_get_contents('php://input'), true);
		if (!is_array($data)) {
			self::json(400, ['message' => 'Invalid request']);
		}
		$secret = $this->ooValue('jwt_secret');
		if ($secret !== '') {
			if (!empty($data['token'])) {
				$payload = self::jwtDecode((string)$data['token'], $secret);
			} else {
				$header = $this->ooHeaderToken($secret);
				$payload = is_array($header['payload'] ?? null) ? $header['payload'] : null;
			}
			if ($payload === null) {
				Server::log()->error('Track: the token of the document server does not verify', 'onlyoffice');
				self::json(403, ['message' => 'Access denied']);
			}
			$data = $payload;
		}
		$status = (int)($data['status'] ?? 0);
		if ($status === 2 || $status === 6) {
			$f = $this->file((int)$doc['fileId']) ?? self::json(404, ['message' => 'File not found']);
			$url = (string)($data['url'] ?? '');
			$internal = $this->ooValue('DocumentServerInternalUrl');
			if ($internal !== '') {
				// Upstream replaces the public URL by the internal one (AppConfig::ReplaceDocumentServerUrlToInternal).
				$url = str_replace(rtrim($this->ooValue('DocumentServerUrl'), '/') . '/', rtrim($internal, '/') . '/', $url);
			}
			try {
				[, $body] = Office::get($url);
			} catch (\Throwable $e) {
				Server::log()->error('Track: downloading the saved document failed: ' . $e->getMessage(), 'onlyoffice');
				self::json(200, ['error' => 1]);
			}
			$this->write($f[1], $body);
			Server::log()->info(sprintf('stand-in: onlyoffice saved file %d (%d bytes) from %s', (int)$doc['fileId'], strlen($body), $url), 'onlyoffice');
		}
		self::json(200, ['error' => 0]);
	}
}
