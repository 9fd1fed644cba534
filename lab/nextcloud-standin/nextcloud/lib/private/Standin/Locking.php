<?php

declare(strict_types=1);

namespace Standin;

/**
 * File locking with `memcache.locking` = \OC\Memcache\Redis, connected like upstream
 * lib/private/RedisFactory.php: `redis` => [host (tls://… for TLS), port, timeout,
 * read_timeout, user, password, dbindex, ssl_context]; AUTH [user, password] when both are
 * set. Keys live under the top-level `memcache_customprefix` (upstream's global cache prefix)
 * as "<prefix>/lock" + "files/<md5>", the shape of upstream's MemcacheLockingProvider keys;
 * an exclusive lock is `SET key -1 NX EX ttl` and its release `DEL key` (upstream uses
 * SET/NX and Lua scripts for shared locks; the stand-in only takes exclusive locks).
 * Without a Redis locking config the stand-in does not lock (upstream would lock in the DB).
 */
final class Locking {
	private ?\Redis $redis = null;

	public function __construct(private Config $config) {
	}

	public function enabled(): bool {
		return ltrim((string)$this->config->get('memcache.locking', ''), '\\') === 'OC\\Memcache\\Redis'
			&& $this->config->get('filelocking.enabled', true) !== false;
	}

	public function prefix(): string {
		$custom = (string)$this->config->get('memcache_customprefix', '');
		// Upstream's default is a hash of instanceid, version and server root.
		return $custom !== '' ? $custom
			: md5($this->config->get('instanceid', '') . '-' . Server::versionDotted() . '-' . Server::$root);
	}

	public function key(string $storageId, string $path): string {
		return $this->prefix() . '/lock' . 'files/' . md5($storageId . '::' . trim($path, '/'));
	}

	public function redis(): \Redis {
		if ($this->redis !== null) {
			return $this->redis;
		}
		if (!extension_loaded('redis')) {
			throw new \RuntimeException('Redis support is not available (Debian php-redis)');
		}
		$c = (array)$this->config->get('redis', []);
		$host = (string)($c['host'] ?? '127.0.0.1');
		$port = $c['port'] ?? ($host[0] !== '/' ? 6379 : 0);
		$r = new \Redis();
		$params = isset($c['ssl_context']) ? ['stream' => $c['ssl_context']] : [];
		if ($params) {
			$r->connect($host, (int)$port, (float)($c['timeout'] ?? 0.0), null, 0, (float)($c['read_timeout'] ?? 0.0), $params);
		} else {
			$r->connect($host, (int)$port, (float)($c['timeout'] ?? 0.0), null, 0, (float)($c['read_timeout'] ?? 0.0));
		}
		if (isset($c['password']) && (string)$c['password'] !== '') {
			$auth = (isset($c['user']) && (string)$c['user'] !== '') ? [(string)$c['user'], (string)$c['password']] : (string)$c['password'];
			if (!$r->auth($auth)) {
				throw new \RuntimeException('Redis AUTH failed');
			}
		}
		if (isset($c['dbindex'])) {
			$r->select((int)$c['dbindex']);
		}
		return $this->redis = $r;
	}

	/** Take an exclusive lock; false if someone else holds it. */
	public function acquire(string $key, int $ttl = 3600): bool {
		return $this->enabled() ? (bool)$this->redis()->set($key, '-1', ['nx', 'ex' => $ttl]) : true;
	}

	public function release(string $key): void {
		if ($this->enabled()) {
			$this->redis()->del($key);
		}
	}
}
