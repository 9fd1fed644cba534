<?php

declare(strict_types=1);

namespace Standin;

/**
 * S3 primary storage with the `objectstore` arguments upstream's S3ConnectionTrait reads:
 * bucket, hostname, port, region, key, secret, use_ssl (default true), use_path_style
 * (default false), objectPrefix (default "urn:oid:"). Objects are named <objectPrefix><fileid>
 * like upstream's ObjectStoreStorage::getURN(). Requests are signed with AWS Signature
 * Version 4 (implemented below, no SDK) and sent with php-curl; TLS uses the system trust
 * store (upstream's default, use_nextcloud_bundle unset). The stand-in never creates the
 * bucket: the farm creates it (upstream's verify_bucket_exists would try).
 */
final class S3 {
	public const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

	public function __construct(
		public string $bucket,
		public string $host,
		public int $port,
		public bool $ssl,
		public bool $pathStyle,
		public string $region,
		private string $key,
		private string $secret,
		public string $prefix = 'urn:oid:',
	) {
	}

	public static function fromArguments(array $a): self {
		foreach (['bucket', 'key', 'secret'] as $required) {
			if (!isset($a[$required]) || $a[$required] === '') {
				throw new \RuntimeException("objectstore: argument \"$required\" is missing");
			}
		}
		$ssl = !isset($a['use_ssl']) || (bool)$a['use_ssl'];
		$region = (string)($a['region'] ?? 'eu-west-1');
		return new self(
			(string)$a['bucket'],
			(string)($a['hostname'] ?? ('s3.' . $region . '.amazonaws.com')),
			(int)(isset($a['port']) && $a['port'] !== '' ? $a['port'] : ($ssl ? 443 : 80)),
			$ssl,
			(bool)($a['use_path_style'] ?? false),
			$region,
			(string)$a['key'],
			(string)$a['secret'],
			(string)($a['objectPrefix'] ?? 'urn:oid:'),
		);
	}

	public function urn(int $fileId): string {
		return $this->prefix . $fileId;
	}

	// ---- AWS Signature Version 4 (pure functions, unit-tested against AWS's examples) ----

	/** URI-encode per SigV4: everything but A-Z a-z 0-9 - _ . ~ ; '/' kept in paths. */
	public static function uriEncode(string $s, bool $keepSlash): string {
		$e = rawurlencode($s);
		return $keepSlash ? str_replace('%2F', '/', $e) : $e;
	}

	public static function canonicalQuery(array $query): string {
		$pairs = [];
		foreach ($query as $k => $v) {
			$pairs[self::uriEncode((string)$k, false)] = self::uriEncode((string)$v, false);
		}
		ksort($pairs, SORT_STRING);
		$out = [];
		foreach ($pairs as $k => $v) {
			$out[] = $k . '=' . $v;
		}
		return implode('&', $out);
	}

	/**
	 * @param array<string,string> $headers must include host and x-amz-date
	 * @return array{canonical: string, stringToSign: string, signature: string, authorization: string}
	 */
	public static function sign(string $method, string $encodedPath, array $query, array $headers,
		string $payloadHash, string $accessKey, string $secret, string $region, string $service): array {
		$h = [];
		foreach ($headers as $name => $value) {
			$h[strtolower(trim($name))] = preg_replace('/\s+/', ' ', trim((string)$value));
		}
		ksort($h, SORT_STRING);
		$canonicalHeaders = '';
		foreach ($h as $name => $value) {
			$canonicalHeaders .= $name . ':' . $value . "\n";
		}
		$signed = implode(';', array_keys($h));
		$canonical = implode("\n", [$method, $encodedPath, self::canonicalQuery($query), $canonicalHeaders, $signed, $payloadHash]);
		$amzDate = $h['x-amz-date'];
		$date = substr($amzDate, 0, 8);
		$scope = "$date/$region/$service/aws4_request";
		$stringToSign = implode("\n", ['AWS4-HMAC-SHA256', $amzDate, $scope, hash('sha256', $canonical)]);
		$k = hash_hmac('sha256', $date, 'AWS4' . $secret, true);
		$k = hash_hmac('sha256', $region, $k, true);
		$k = hash_hmac('sha256', $service, $k, true);
		$k = hash_hmac('sha256', 'aws4_request', $k, true);
		$signature = hash_hmac('sha256', $stringToSign, $k);
		return [
			'canonical' => $canonical,
			'stringToSign' => $stringToSign,
			'signature' => $signature,
			'authorization' => "AWS4-HMAC-SHA256 Credential=$accessKey/$scope, SignedHeaders=$signed, Signature=$signature",
		];
	}

	// ---- HTTP ----

	/** @return array{status: int, body: string, headers: array<string,string>} */
	public function request(string $method, string $object, string $body = '', array $extra = [], ?int $time = null): array {
		if (!function_exists('curl_init')) {
			throw new \RuntimeException('stand-in: the curl PHP extension (Debian php-curl) is required for S3');
		}
		$hostHeader = $this->host;
		if (($this->ssl && $this->port !== 443) || (!$this->ssl && $this->port !== 80)) {
			$hostHeader .= ':' . $this->port;
		}
		$key = self::uriEncode($object, true);
		if ($this->pathStyle) {
			$path = '/' . self::uriEncode($this->bucket, false) . ($object === '' ? '' : '/' . $key);
		} else {
			$hostHeader = $this->bucket . '.' . $hostHeader;
			$path = '/' . $key;
		}
		$payload = hash('sha256', $body);
		$headers = $extra + [
			'host' => $hostHeader,
			'x-amz-date' => gmdate('Ymd\THis\Z', $time ?? time()),
			'x-amz-content-sha256' => $payload,
		];
		$sig = self::sign($method, $path, [], $headers, $payload, $this->key, $this->secret, $this->region, 's3');
		$lines = ['Authorization: ' . $sig['authorization'], 'Expect:'];
		foreach ($headers as $n => $v) {
			if ($n !== 'host') {
				$lines[] = "$n: $v";
			}
		}
		$url = ($this->ssl ? 'https' : 'http') . '://' . $hostHeader . $path;
		// The AWS SDK's default ('legacy' mode, 'retries' 3: upstream's S3ConnectionTrait sets
		// no other): a request that got no answer, or answered 500/502/503/504, is sent again
		// up to 3 times after a random 0..(2^retry x 100) ms (Aws\RetryMiddleware).
		for ($retries = 0; ; $retries++) {
			try {
				$r = $this->send($method, $url, $lines, $body);
				if (!in_array($r['status'], [500, 502, 503, 504], true)) {
					return $r;
				}
			} catch (\RuntimeException $e) {
				$r = $e;
			}
			if ($retries >= self::RETRIES) {
				if ($r instanceof \RuntimeException) {
					throw $r;
				}
				return $r;
			}
			usleep(mt_rand(0, (int)min(20000, 2 ** $retries * 100)) * 1000);
		}
	}

	/** Aws\ClientResolver's default 'retries'. */
	public const RETRIES = 3;

	/** One HTTP exchange; a transport failure (no answer) throws. */
	private function send(string $method, string $url, array $lines, string $body): array {
		$ch = curl_init($url);
		$respHeaders = [];
		curl_setopt_array($ch, [
			CURLOPT_CUSTOMREQUEST => $method,
			CURLOPT_RETURNTRANSFER => true,
			CURLOPT_HTTPHEADER => $lines,
			CURLOPT_CONNECTTIMEOUT => 5,
			CURLOPT_TIMEOUT => 60,
			CURLOPT_SSL_VERIFYPEER => true,
			CURLOPT_SSL_VERIFYHOST => 2,
			CURLOPT_HEADERFUNCTION => static function ($ch, string $line) use (&$respHeaders): int {
				$p = strpos($line, ':');
				if ($p !== false) {
					$respHeaders[strtolower(trim(substr($line, 0, $p)))] = trim(substr($line, $p + 1));
				}
				return strlen($line);
			},
		]);
		if ($method === 'PUT') {
			curl_setopt($ch, CURLOPT_POSTFIELDS, $body);
		} elseif ($method === 'HEAD') {
			curl_setopt($ch, CURLOPT_NOBODY, true);
		}
		$out = curl_exec($ch);
		if ($out === false) {
			$err = curl_error($ch);
			curl_close($ch);
			throw new \RuntimeException("S3 $method $url failed: $err");
		}
		$status = (int)curl_getinfo($ch, CURLINFO_RESPONSE_CODE);
		curl_close($ch);
		return ['status' => $status, 'body' => (string)$out, 'headers' => $respHeaders];
	}

	private function check(array $r, string $what, array $ok = [200, 204]): array {
		if (!in_array($r['status'], $ok, true)) {
			$code = preg_match('#<Code>([^<]+)</Code>#', $r['body'], $m) ? $m[1] : 'HTTP ' . $r['status'];
			throw new \RuntimeException("S3 $what on bucket {$this->bucket}: $code");
		}
		return $r;
	}

	public function put(string $object, string $body): void {
		$this->check($this->request('PUT', $object, $body, ['content-length' => (string)strlen($body)]), "PUT $object");
	}

	public function get(string $object): string {
		return $this->check($this->request('GET', $object), "GET $object")['body'];
	}

	public function delete(string $object): void {
		$this->check($this->request('DELETE', $object), "DELETE $object", [200, 204, 404]);
	}

	/** Upstream checks the bucket on first use (verify_bucket_exists); the stand-in does it at install. */
	public function bucketExists(): bool {
		$r = $this->request('HEAD', '');
		if ($r['status'] === 200) {
			return true;
		}
		if ($r['status'] === 404) {
			return false;
		}
		$this->check($r, 'HEAD bucket', [200]);
		return false;
	}
}
