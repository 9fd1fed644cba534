<?php

declare(strict_types=1);

namespace Standin;

/**
 * Previews through Imaginary, and nothing else: upstream core/Controller/PreviewController.php
 * (getPreviewByFileId, route /core/preview) reduced to the Imaginary provider of
 * lib/private/Preview/Imaginary.php. The provider runs only when `enabledPreviewProviders`
 * lists OC\Preview\Imaginary and the mimetype matches upstream's supportedMimeTypes(); it POSTs
 * the file body to <preview_imaginary_url>/pipeline?operations=<json>&key=<preview_imaginary_key>
 * (timeout 120 s, connect 3 s) with operations autorotate + fit|smartcrop like upstream. A
 * non-200 answer logs "Imaginary preview generation failed: <message>" (info) and gives no
 * preview (404). The preview is stored like appdata on an object store: a file-cache row of
 * the root storage "object::store:<bucket>" (appdata_<instanceid>/preview/<fileid>/<w>-<h>[-crop].<ext>)
 * and its body as object urn:oid:<row id> of the space's bucket; a second request serves it.
 * Not reproduced: the other providers, upstream's preview folder layout and size rounding,
 * the preview table of recent releases.
 */
final class Preview {
	public const PROVIDER = 'OC\\Preview\\Imaginary';

	public static function supportedMimeTypes(): string {
		return '/(image\/(bmp|x-bitmap|png|jpeg|gif|heic|heif|svg\+xml|tiff|webp)|application\/(pdf|illustrator))/';
	}

	public static function enabled(): bool {
		$providers = Server::$config->get('enabledPreviewProviders', []);
		return is_array($providers) && in_array(self::PROVIDER, array_map(static fn ($p) => ltrim((string)$p, '\\'), $providers), true);
	}

	/** GET /core/preview?fileId=&x=&y=&a=: upstream's status codes (400 bad args, 404 no file/preview). */
	public function handle(string $uid): void {
		$fileId = (int)($_GET['fileId'] ?? -1);
		$x = (int)($_GET['x'] ?? 32);
		$y = (int)($_GET['y'] ?? 32);
		$crop = !(bool)(int)($_GET['a'] ?? 0);
		if ($fileId === -1 || $x === 0 || $y === 0) {
			http_response_code(400);
			return;
		}
		$db = Server::db();
		$storage = $db->home($uid);
		$e = $db->q('SELECT * FROM *PREFIX*filecache WHERE fileid = ? AND storage = ?', [$fileId, $storage])->fetch();
		if (!$e || $e['mimetype'] === 'httpd/unix-directory' || !self::enabled()
			|| !preg_match(self::supportedMimeTypes(), (string)$e['mimetype'])) {
			http_response_code(404);
			return;
		}
		$s3 = Server::storage();
		$root = $db->storage('object::store:' . $s3->bucket);
		$ext = in_array($e['mimetype'], ['image/png', 'image/gif', 'image/svg+xml', 'application/pdf', 'application/illustrator'], true) ? 'png' : 'jpg';
		$path = sprintf('appdata_%s/preview/%d/%d-%d%s.%s', Server::$config->get('instanceid', ''), $fileId, $x, $y, $crop ? '-crop' : '', $ext);
		$cached = $db->entry($root, $path);
		if ($cached) {
			$body = $s3->get($s3->urn((int)$cached['fileid']));
		} else {
			$body = $this->imaginary((string)$e['mimetype'], $s3->get($s3->urn($fileId)), (int)$e['size'], $x, $y, $crop);
			if ($body === null) {
				http_response_code(404);
				return;
			}
			$id = $db->insertEntry($root, $path, -1, $ext === 'png' ? 'image/png' : 'image/jpeg', strlen($body));
			$s3->put($s3->urn($id), $body);
			Server::log()->info(sprintf('stand-in: preview of file %d stored as object %s (%d bytes)', $fileId, $s3->urn($id), strlen($body)), 'preview');
		}
		header('Content-Type: ' . ($ext === 'png' ? 'image/png' : 'image/jpeg'));
		header('Content-Length: ' . strlen($body));
		echo $body;
	}

	/** Upstream Imaginary::getCroppedThumbnail(): the preview body, or null. */
	private function imaginary(string $mime, string $body, int $size, int $maxX, int $maxY, bool $crop): ?string {
		$maxSizeForImages = (int)Server::$config->get('preview_max_filesize_image', 50);
		if ($maxSizeForImages !== -1 && $size > $maxSizeForImages * 1024 * 1024) {
			return null;
		}
		$url = (string)Server::$config->get('preview_imaginary_url', 'invalid');
		if ($url === 'invalid') {
			Server::log()->error('Imaginary preview provider is enabled, but no url is configured. Please provide the url of your imaginary server to the \'preview_imaginary_url\' config variable.');
			return null;
		}
		$url = rtrim($url, '/');
		$convert = false;
		$autorotate = true;
		switch ($mime) {
			case 'image/heic':
				$autorotate = false;
				$type = 'jpeg';
				break;
			case 'image/gif':
			case 'image/png':
				$type = 'png';
				break;
			case 'image/svg+xml':
			case 'application/pdf':
			case 'application/illustrator':
				$convert = true;
				$autorotate = false;
				$type = 'png';
				break;
			default:
				$type = 'jpeg';
		}
		$operations = [];
		if ($convert) {
			$operations[] = ['operation' => 'convert', 'params' => ['type' => $type]];
		} elseif ($autorotate) {
			$operations[] = ['operation' => 'autorotate'];
		}
		$quality = Server::db()->getAppValue('preview', 'jpeg_quality') ?? '80';
		$operations[] = ['operation' => $crop ? 'smartcrop' : 'fit', 'params' => [
			'width' => $maxX, 'height' => $maxY, 'stripmeta' => 'true', 'type' => $type, 'norotation' => 'true', 'quality' => $quality]];
		$query = http_build_query(['operations' => json_encode($operations), 'key' => (string)Server::$config->get('preview_imaginary_key', '')]);
		$ch = curl_init($url . '/pipeline?' . $query);
		curl_setopt_array($ch, [
			CURLOPT_POST => true,
			CURLOPT_POSTFIELDS => $body,
			CURLOPT_HTTPHEADER => ['Content-Type: ' . $mime, 'User-Agent: Nextcloud Server Crawler (stand-in)'],
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_TIMEOUT => 120,
			CURLOPT_CONNECTTIMEOUT => 3,
		]);
		$answer = curl_exec($ch);
		$status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
		$error = curl_error($ch);
		curl_close($ch);
		if ($answer === false) {
			Server::log()->info('Imaginary preview generation failed: ' . $error, 'preview');
			return null;
		}
		if ($status !== 200) {
			$decoded = json_decode((string)$answer, true);
			Server::log()->info('Imaginary preview generation failed: ' . (is_array($decoded) ? ($decoded['message'] ?? '') : ''), 'preview');
			return null;
		}
		return (string)$answer;
	}
}
