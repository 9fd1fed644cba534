<?php

declare(strict_types=1);

namespace Standin;

/**
 * Minimal WebDAV (GET, HEAD, PUT, DELETE, MKCOL, PROPFIND depth 0/1, OPTIONS) on the user's
 * home storage "object::user:<uid>": metadata rows in <prefix>filecache of the space's
 * database, file bodies as objects "<objectPrefix><fileid>" in the space's bucket, an
 * exclusive Redis lock around every write, one log line per write. Errors use Sabre's XML.
 */
final class Dav {
	public static function error(int $code, string $exception, string $message, array $headers = []): never {
		http_response_code($code);
		header('Content-Type: application/xml; charset=utf-8');
		foreach ($headers as $h) {
			header($h);
		}
		echo '<?xml version="1.0" encoding="utf-8"?>' . "\n"
			. '<d:error xmlns:d="DAV:" xmlns:s="http://sabredav.org/ns">' . "\n"
			. '  <s:exception>' . htmlspecialchars($exception) . "</s:exception>\n"
			. '  <s:message>' . htmlspecialchars($message) . "</s:message>\n"
			. "</d:error>\n";
		exit;
	}

	/** Basic auth like upstream's DAV and core routes; the uid, or a 401 exit. */
	public function authenticate(): string {
		$user = $_SERVER['PHP_AUTH_USER'] ?? null;
		$pass = $_SERVER['PHP_AUTH_PW'] ?? null;
		$header = $_SERVER['HTTP_AUTHORIZATION'] ?? $_SERVER['REDIRECT_HTTP_AUTHORIZATION'] ?? '';
		if ($user === null && stripos($header, 'basic ') === 0) {
			$decoded = (string)base64_decode(substr($header, 6), true);
			[$user, $pass] = array_pad(explode(':', $decoded, 2), 2, '');
		}
		$challenge = ['WWW-Authenticate: Basic realm="Nextcloud", charset="UTF-8"'];
		if ($user === null || $user === '') {
			self::error(401, 'Sabre\DAV\Exception\NotAuthenticated', 'No public access to this resource., Username or password was incorrect, No \'Authorization: Bearer\' header found. Either the client didn\'t send one, or the server didn\'t receive it', $challenge);
		}
		$uid = Server::db()->checkPassword((string)$user, (string)$pass);
		if ($uid === null) {
			// Upstream logs failed logins at warning level (2).
			Server::log()->warning(sprintf('Login failed: %s (Remote IP: %s)', $user, $_SERVER['REMOTE_ADDR'] ?? ''), 'core');
			self::error(401, 'Sabre\DAV\Exception\NotAuthenticated', 'Username or password was incorrect', $challenge);
		}
		return Http::$user = $uid;
	}

	public function handle(string $pathInfo): void {
		if (preg_match('#^/dav/files/([^/]+)(/.*)?$#', $pathInfo, $m)) {
			$owner = rawurldecode($m[1]);
			$rel = $m[2] ?? '';
			$base = '/remote.php/dav/files/' . $m[1];
		} elseif (preg_match('#^/webdav(/.*)?$#', $pathInfo, $m)) {
			$owner = null;
			$rel = $m[1] ?? '';
			$base = '/remote.php/webdav';
		} else {
			self::error(404, 'Sabre\DAV\Exception\NotFound', 'stand-in: only /remote.php/dav/files/<user>/ and /remote.php/webdav/ exist');
		}
		$method = $_SERVER['REQUEST_METHOD'] ?? 'GET';
		if ($method === 'OPTIONS') {
			header('DAV: 1, 3');
			header('Allow: OPTIONS, GET, HEAD, DELETE, PROPFIND, PUT, MKCOL');
			http_response_code(200);
			return;
		}
		$uid = $this->authenticate();
		if ($owner !== null && $owner !== $uid) {
			self::error(404, 'Sabre\DAV\Exception\NotFound', 'Principal with name ' . $owner . ' not found');
		}
		$segments = array_values(array_filter(explode('/', $rel), fn ($s) => $s !== ''));
		$segments = array_map('rawurldecode', $segments);
		foreach ($segments as $s) {
			if ($s === '.' || $s === '..' || str_contains($s, "\0")) {
				self::error(400, 'Sabre\DAV\Exception\BadRequest', 'Invalid path');
			}
		}
		$path = rtrim('files/' . implode('/', $segments), '/');
		$db = Server::db();
		$storage = $db->home($uid);
		match ($method) {
			'GET', 'HEAD' => $this->get($db, $storage, $path, $method === 'HEAD'),
			'PUT' => $this->put($db, $storage, $path),
			'DELETE' => $this->delete($db, $storage, $path),
			'MKCOL' => $this->mkcol($db, $storage, $path),
			'PROPFIND' => $this->propfind($db, $storage, $path, rtrim($base . '/' . implode('/', array_map('rawurlencode', $segments)), '/')),
			default => self::error(405, 'Sabre\DAV\Exception\MethodNotAllowed', "$method is not allowed"),
		};
	}

	private function notFound(string $path): never {
		self::error(404, 'Sabre\DAV\Exception\NotFound', 'File with name ' . substr($path, 6) . ' could not be located');
	}

	private function get(Db $db, int $storage, string $path, bool $head): void {
		$e = $db->entry($storage, $path) ?? $this->notFound($path);
		if ($e['mimetype'] === 'httpd/unix-directory') {
			self::error(501, 'Sabre\DAV\Exception\NotImplemented', 'GET is only implemented on File objects');
		}
		$body = $head ? '' : Server::storage()->get(Server::storage()->urn((int)$e['fileid']));
		header('Content-Type: ' . $e['mimetype']);
		header('Content-Length: ' . $e['size']);
		header('ETag: "' . $e['etag'] . '"');
		header('OC-FileId: ' . $this->ocFileId((int)$e['fileid']));
		header('Last-Modified: ' . gmdate('D, d M Y H:i:s', (int)$e['mtime']) . ' GMT');
		echo $body;
	}

	private function ocFileId(int $id): string {
		return sprintf('%08d', $id) . Server::$config->get('instanceid', '');
	}

	private function put(Db $db, int $storage, string $path): void {
		if ($path === 'files') {
			self::error(405, 'Sabre\DAV\Exception\MethodNotAllowed', 'Cannot PUT on a collection');
		}
		$parent = $db->entry($storage, dirname($path));
		if (!$parent || $parent['mimetype'] !== 'httpd/unix-directory') {
			self::error(409, 'Sabre\DAV\Exception\Conflict', 'Files can only be created as children of collections');
		}
		$existing = $db->entry($storage, $path);
		if ($existing && $existing['mimetype'] === 'httpd/unix-directory') {
			self::error(405, 'Sabre\DAV\Exception\MethodNotAllowed', 'Cannot PUT on a collection');
		}
		$locking = Server::locking();
		$key = $locking->key('object::user:' . $this->uidOf($storage, $db), $path);
		if (!$locking->acquire($key)) {
			self::error(423, 'OCA\DAV\Connector\Sabre\Exception\FileLocked', '"' . substr($path, 6) . '" is locked');
		}
		try {
			$body = (string)file_get_contents('php://input');
			$s3 = Server::storage();
			$db->pdo->beginTransaction();
			$id = $existing ? (int)$existing['fileid']
				: $db->insertEntry($storage, $path, (int)$parent['fileid'], self::mimetype($path), strlen($body));
			$s3->put($s3->urn($id), $body);
			$db->updateEntry($id, strlen($body));
			$db->pdo->commit();
		} catch (\Throwable $e) {
			if ($db->pdo->inTransaction()) {
				$db->pdo->rollBack();
			}
			throw $e;
		} finally {
			$locking->release($key);
		}
		$entry = $db->entry($storage, $path);
		Server::log()->info(sprintf('stand-in: %s wrote %s as object %s (%d bytes, lock %s)',
			Http::$user, $path, $s3->urn($id), strlen($body), $locking->enabled() ? $key : 'none'), 'webdav');
		header('ETag: "' . $entry['etag'] . '"');
		header('OC-ETag: "' . $entry['etag'] . '"');
		header('OC-FileId: ' . $this->ocFileId($id));
		http_response_code($existing ? 204 : 201);
	}

	private function uidOf(int $storage, Db $db): string {
		return substr((string)$db->q('SELECT id FROM *PREFIX*storages WHERE numeric_id = ?', [$storage])->fetchColumn(), strlen('object::user:'));
	}

	private function delete(Db $db, int $storage, string $path): void {
		if ($path === 'files') {
			self::error(403, 'Sabre\DAV\Exception\Forbidden', 'Cannot delete the home folder');
		}
		$e = $db->entry($storage, $path) ?? $this->notFound($path);
		$s3 = Server::storage();
		$stack = [$e];
		while ($stack) {
			$item = array_pop($stack);
			if ($item['mimetype'] === 'httpd/unix-directory') {
				array_push($stack, ...$db->children((int)$item['fileid']));
			} else {
				$s3->delete($s3->urn((int)$item['fileid']));
			}
			$db->deleteEntry((int)$item['fileid']);
		}
		Server::log()->info(sprintf('stand-in: %s deleted %s', Http::$user, $path), 'webdav');
		http_response_code(204);
	}

	private function mkcol(Db $db, int $storage, string $path): void {
		if ($db->entry($storage, $path)) {
			self::error(405, 'Sabre\DAV\Exception\MethodNotAllowed', 'The resource you tried to create already exists');
		}
		$parent = $db->entry($storage, dirname($path));
		if (!$parent || $parent['mimetype'] !== 'httpd/unix-directory') {
			self::error(409, 'Sabre\DAV\Exception\Conflict', 'Parent node does not exist');
		}
		$db->insertEntry($storage, $path, (int)$parent['fileid'], 'httpd/unix-directory', 0);
		http_response_code(201);
	}

	private function propfind(Db $db, int $storage, string $path, string $href): void {
		$e = $db->entry($storage, $path) ?? $this->notFound($path);
		$depth = $_SERVER['HTTP_DEPTH'] ?? '1';
		$items = [[$e, $href]];
		if ($e['mimetype'] === 'httpd/unix-directory' && $depth !== '0') {
			foreach ($db->children((int)$e['fileid']) as $c) {
				$items[] = [$c, rtrim($href, '/') . '/' . rawurlencode($c['name'])];
			}
		}
		http_response_code(207);
		header('Content-Type: application/xml; charset=utf-8');
		echo '<?xml version="1.0"?>' . "\n" . '<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns" xmlns:nc="http://nextcloud.org/ns">';
		foreach ($items as [$i, $h]) {
			$dir = $i['mimetype'] === 'httpd/unix-directory';
			echo '<d:response><d:href>' . htmlspecialchars($h . ($dir ? '/' : '')) . '</d:href><d:propstat><d:prop>'
				. '<d:getlastmodified>' . gmdate('D, d M Y H:i:s', (int)$i['mtime']) . ' GMT</d:getlastmodified>'
				. '<d:getetag>&quot;' . htmlspecialchars($i['etag']) . '&quot;</d:getetag>'
				. ($dir ? '<d:resourcetype><d:collection/></d:resourcetype>'
					: '<d:resourcetype/><d:getcontentlength>' . (int)$i['size'] . '</d:getcontentlength><d:getcontenttype>' . htmlspecialchars($i['mimetype']) . '</d:getcontenttype>')
				. '<oc:fileid>' . (int)$i['fileid'] . '</oc:fileid>'
				. '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>';
		}
		echo "</d:multistatus>\n";
	}

	public static function mimetype(string $path): string {
		$ext = strtolower(pathinfo($path, PATHINFO_EXTENSION));
		return [
			'txt' => 'text/plain', 'md' => 'text/markdown', 'html' => 'text/html', 'json' => 'application/json',
			'pdf' => 'application/pdf', 'png' => 'image/png', 'jpg' => 'image/jpeg', 'jpeg' => 'image/jpeg', 'gif' => 'image/gif', 'webp' => 'image/webp',
			'odt' => 'application/vnd.oasis.opendocument.text', 'docx' => 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
		][$ext] ?? 'application/octet-stream';
	}
}
