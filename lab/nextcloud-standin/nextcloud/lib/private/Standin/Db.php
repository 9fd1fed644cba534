<?php

declare(strict_types=1);

namespace Standin;

/**
 * PostgreSQL through PDO pgsql with the config keys upstream's ConnectionFactory reads:
 * dbtype (pgsql only here), dbhost ("host", "host:port", "[v6]:port", "/socket/dir"),
 * dbport, dbname, dbuser, dbpassword, dbtableprefix (default "oc_"), pgsql_ssl
 * (mode, rootcert, cert, key, crl → sslmode, sslrootcert, sslcert, sslkey, sslcrl).
 *
 * The tables are a small subset of upstream's, with upstream's names and the columns the
 * stand-in needs; they are NOT Nextcloud's schema (real Nextcloud cannot run on them).
 */
final class Db {
	public function __construct(public \PDO $pdo, public string $prefix) {
	}

	/** @return array{0: string, 1: ?string} host and port (null: default or socket) */
	public static function splitHost(string $host, string $port = ''): array {
		if (preg_match('/^\[(.+)\](?::(\d+))?$/', $host, $m)) {
			return [$m[1], $m[2] ?? ($port !== '' ? $port : null)];
		}
		if (substr_count($host, ':') === 1) {
			[$h, $p] = explode(':', $host);
			return [$h === '' ? 'localhost' : $h, $p];  // "host:/socket/dir" keeps the dir as host below
		}
		return [$host === '' ? 'localhost' : $host, $port !== '' ? $port : null];
	}

	public static function dsn(array $c): string {
		[$host, $port] = self::splitHost((string)($c['dbhost'] ?? 'localhost'), (string)($c['dbport'] ?? ''));
		if ($port !== null && !ctype_digit($port)) { // host:/run/postgresql
			$host = $port;
			$port = null;
		}
		$parts = ['host=' . $host];
		if ($port !== null) {
			$parts[] = 'port=' . $port;
		}
		$parts[] = 'dbname=' . ($c['dbname'] ?? '');
		$ssl = $c['pgsql_ssl'] ?? null;
		if (is_array($ssl)) {
			foreach (['mode' => 'sslmode', 'rootcert' => 'sslrootcert', 'cert' => 'sslcert', 'key' => 'sslkey', 'crl' => 'sslcrl'] as $k => $p) {
				if (!empty($ssl[$k])) {
					$parts[] = $p . '=' . $ssl[$k];
				}
			}
		}
		return 'pgsql:' . implode(';', $parts);
	}

	public static function connect(Config $config, ?array $override = null): self {
		$c = $override ?? [];
		foreach (['dbtype', 'dbhost', 'dbport', 'dbname', 'dbuser', 'dbpassword', 'dbtableprefix', 'pgsql_ssl'] as $k) {
			if (!array_key_exists($k, $c)) {
				$c[$k] = $config->get($k);
			}
		}
		if (($c['dbtype'] ?? '') !== 'pgsql') {
			throw new \RuntimeException('stand-in: only dbtype "pgsql" is implemented, config has "' . ($c['dbtype'] ?? '') . '"');
		}
		if (!extension_loaded('pdo_pgsql')) {
			throw new \RuntimeException('PHP module pdo_pgsql not installed (Debian php-pgsql)');
		}
		$pdo = new \PDO(self::dsn($c), (string)$c['dbuser'], (string)$c['dbpassword'], [
			\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION,
			\PDO::ATTR_DEFAULT_FETCH_MODE => \PDO::FETCH_ASSOC,
		]);
		return new self($pdo, (string)($c['dbtableprefix'] ?? 'oc_'));
	}

	public function t(string $table): string {
		return $this->prefix . $table;
	}

	public function q(string $sql, array $params = []): \PDOStatement {
		$sql = preg_replace_callback('/\*PREFIX\*/', fn () => $this->prefix, $sql);
		$st = $this->pdo->prepare($sql);
		$st->execute($params);
		return $st;
	}

	public function createSchema(): void {
		foreach ([
			'CREATE TABLE IF NOT EXISTS *PREFIX*appconfig (appid VARCHAR(32) NOT NULL, configkey VARCHAR(64) NOT NULL, configvalue TEXT, PRIMARY KEY (appid, configkey))',
			'CREATE TABLE IF NOT EXISTS *PREFIX*preferences (userid VARCHAR(64) NOT NULL, appid VARCHAR(32) NOT NULL, configkey VARCHAR(64) NOT NULL, configvalue TEXT, PRIMARY KEY (userid, appid, configkey))',
			'CREATE TABLE IF NOT EXISTS *PREFIX*users (uid VARCHAR(64) PRIMARY KEY, displayname VARCHAR(64), password VARCHAR(255) NOT NULL, uid_lower VARCHAR(64) NOT NULL)',
			'CREATE TABLE IF NOT EXISTS *PREFIX*groups (gid VARCHAR(64) PRIMARY KEY, displayname VARCHAR(255) NOT NULL)',
			'CREATE TABLE IF NOT EXISTS *PREFIX*group_user (gid VARCHAR(64) NOT NULL, uid VARCHAR(64) NOT NULL, PRIMARY KEY (gid, uid))',
			'CREATE TABLE IF NOT EXISTS *PREFIX*storages (numeric_id BIGSERIAL PRIMARY KEY, id VARCHAR(64) NOT NULL UNIQUE)',
			'CREATE TABLE IF NOT EXISTS *PREFIX*filecache (fileid BIGSERIAL PRIMARY KEY, storage BIGINT NOT NULL, path VARCHAR(4000) NOT NULL, path_hash VARCHAR(32) NOT NULL, parent BIGINT NOT NULL, name VARCHAR(250) NOT NULL, mimetype VARCHAR(255) NOT NULL, size BIGINT NOT NULL DEFAULT 0, mtime BIGINT NOT NULL DEFAULT 0, etag VARCHAR(40) NOT NULL, UNIQUE (storage, path_hash))',
		] as $sql) {
			$this->q($sql);
		}
		foreach (self::MIGRATIONS as $major => $sql) {
			if ($major <= Server::$version[0]) {
				$this->q($sql);
			}
		}
	}

	/**
	 * Schema steps of later majors, run by install and by `occ upgrade` (like upstream's
	 * migrations: a release's schema is every step up to its own major). 33's unique index fails
	 * on duplicate rows, as upstream migrations that add a unique index do on such data: the
	 * upgrade tests use it for a migration that really fails.
	 */
	private const MIGRATIONS = [
		32 => "ALTER TABLE *PREFIX*filecache ADD COLUMN IF NOT EXISTS checksum VARCHAR(255) NOT NULL DEFAULT ''",
		33 => 'CREATE UNIQUE INDEX IF NOT EXISTS *PREFIX*users_uid_lower ON *PREFIX*users (uid_lower)',
	];

	// ---- app config ----
	public function getAppValue(string $app, string $key): ?string {
		$v = $this->q('SELECT configvalue FROM *PREFIX*appconfig WHERE appid = ? AND configkey = ?', [$app, $key])->fetchColumn();
		return $v === false ? null : (string)$v;
	}

	public function setAppValue(string $app, string $key, string $value): void {
		$this->q('INSERT INTO *PREFIX*appconfig (appid, configkey, configvalue) VALUES (?, ?, ?) ON CONFLICT (appid, configkey) DO UPDATE SET configvalue = EXCLUDED.configvalue', [$app, $key, $value]);
	}

	public function deleteAppValue(string $app, string $key): void {
		$this->q('DELETE FROM *PREFIX*appconfig WHERE appid = ? AND configkey = ?', [$app, $key]);
	}

	// ---- users and groups ----
	public function userExists(string $uid): bool {
		return $this->q('SELECT 1 FROM *PREFIX*users WHERE uid_lower = ?', [mb_strtolower($uid)])->fetchColumn() !== false;
	}

	public function createUser(string $uid, string $password, ?string $displayName = null): void {
		$this->q('INSERT INTO *PREFIX*users (uid, displayname, password, uid_lower) VALUES (?, ?, ?, ?)',
			[$uid, $displayName, '2|' . password_hash($password, PASSWORD_BCRYPT), mb_strtolower($uid)]);
		$this->home($uid);
	}

	public function setDisplayName(string $uid, string $name): void {
		$this->q('UPDATE *PREFIX*users SET displayname = ? WHERE uid = ?', [$name, $uid]);
	}

	/** @return ?string the uid when the login and password match */
	public function checkPassword(string $login, string $password): ?string {
		$row = $this->q('SELECT uid, password FROM *PREFIX*users WHERE uid_lower = ?', [mb_strtolower($login)])->fetch();
		if (!$row) {
			return null;
		}
		$hash = preg_replace('/^\d+\|/', '', (string)$row['password']);
		return password_verify($password, $hash) ? (string)$row['uid'] : null;
	}

	public function users(int $limit = 500, int $offset = 0): array {
		$out = [];
		foreach ($this->q('SELECT uid, displayname FROM *PREFIX*users ORDER BY uid_lower LIMIT ' . $limit . ' OFFSET ' . $offset) as $r) {
			$out[$r['uid']] = $r['displayname'] ?? $r['uid'];
		}
		return $out;
	}

	/** Upstream Database backend countUsers(): every account row. */
	public function countUsers(): int {
		return (int)$this->q('SELECT COUNT(*) FROM *PREFIX*users')->fetchColumn();
	}

	/** Upstream IConfig::getUsersForUserValue('core', 'enabled', 'false'): disabled accounts. */
	public function countDisabledUsers(): int {
		return (int)$this->q("SELECT COUNT(*) FROM *PREFIX*preferences WHERE appid = 'core' AND configkey = 'enabled' AND configvalue = 'false'")->fetchColumn();
	}

	public function addToGroup(string $uid, string $gid): bool {
		$created = $this->q('INSERT INTO *PREFIX*groups (gid, displayname) VALUES (?, ?) ON CONFLICT DO NOTHING', [$gid, $gid])->rowCount() > 0;
		$this->q('INSERT INTO *PREFIX*group_user (gid, uid) VALUES (?, ?) ON CONFLICT DO NOTHING', [$gid, $uid]);
		return $created;
	}

	public function setPreference(string $uid, string $app, string $key, string $value): void {
		$this->q('INSERT INTO *PREFIX*preferences (userid, appid, configkey, configvalue) VALUES (?, ?, ?, ?) ON CONFLICT (userid, appid, configkey) DO UPDATE SET configvalue = EXCLUDED.configvalue', [$uid, $app, $key, $value]);
	}

	// ---- file cache (one home storage per user, like upstream's "object::user:<uid>") ----
	public function storageId(string $uid): int {
		return $this->storage('object::user:' . $uid);
	}

	/** Numeric id of a storage (created on first use), e.g. "object::store:<bucket>" for appdata. */
	public function storage(string $id): int {
		$this->q('INSERT INTO *PREFIX*storages (id) VALUES (?) ON CONFLICT DO NOTHING', [$id]);
		return (int)$this->q('SELECT numeric_id FROM *PREFIX*storages WHERE id = ?', [$id])->fetchColumn();
	}

	/** Make sure the home storage has its root and "files" folder rows; returns the storage id. */
	public function home(string $uid): int {
		$storage = $this->storageId($uid);
		if (!$this->entry($storage, '')) {
			$this->insertEntry($storage, '', -1, 'httpd/unix-directory', 0);
		}
		if (!$this->entry($storage, 'files')) {
			$this->insertEntry($storage, 'files', (int)$this->entry($storage, '')['fileid'], 'httpd/unix-directory', 0);
		}
		return $storage;
	}

	public function entry(int $storage, string $path): ?array {
		$r = $this->q('SELECT * FROM *PREFIX*filecache WHERE storage = ? AND path_hash = ?', [$storage, md5($path)])->fetch();
		return $r ?: null;
	}

	public function children(int $parent): array {
		return $this->q('SELECT * FROM *PREFIX*filecache WHERE parent = ? ORDER BY name', [$parent])->fetchAll();
	}

	public function insertEntry(int $storage, string $path, int $parent, string $mime, int $size): int {
		return (int)$this->q('INSERT INTO *PREFIX*filecache (storage, path, path_hash, parent, name, mimetype, size, mtime, etag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING fileid',
			[$storage, $path, md5($path), $parent, basename($path), $mime, $size, time(), bin2hex(random_bytes(8))])->fetchColumn();
	}

	public function updateEntry(int $fileId, int $size): void {
		$this->q('UPDATE *PREFIX*filecache SET size = ?, mtime = ?, etag = ? WHERE fileid = ?', [$size, time(), bin2hex(random_bytes(8)), $fileId]);
	}

	public function deleteEntry(int $fileId): void {
		$this->q('DELETE FROM *PREFIX*filecache WHERE fileid = ?', [$fileId]);
	}
}
