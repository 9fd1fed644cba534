<?php

declare(strict_types=1);

namespace Standin;

/** Process-wide state: server root, version, config, and the lazily opened services. */
final class Server {
	public static string $root;
	public static string $configDir;
	public static array $version;
	public static string $versionString;
	public static array $canUpgradeFrom;
	public static Config $config;
	private static ?Db $db = null;
	private static ?Log $log = null;

	public const PRODUCT_NAME = 'Nextcloud stand-in (Nuagerie tests)';

	public static function boot(string $root): void {
		self::$root = $root;
		require $root . '/version.php';
		/** @var array $OC_Version */
		self::$version = $OC_Version;
		self::$versionString = $OC_VersionString;
		self::$canUpgradeFrom = $OC_VersionCanBeUpgradedFrom['nextcloud'] ?? [];
		// Upstream lib/base.php: NEXTCLOUD_CONFIG_DIR, else <server root>/config/.
		$dir = getenv('NEXTCLOUD_CONFIG_DIR');
		self::$configDir = ($dir !== false && $dir !== '') ? rtrim($dir, '/') . '/' : $root . '/config/';
		self::$config = new Config(self::$configDir);
	}

	public static function reload(): void {
		self::$config = new Config(self::$configDir);
		self::$db = null;
		self::$appsRoots = null;
	}

	public static function versionDotted(): string {
		return implode('.', self::$version);
	}

	public static function installed(): bool {
		return self::$config->getBool('installed');
	}

	public static function maintenance(): bool {
		return self::$config->getBool('maintenance');
	}

	/**
	 * Upstream OCP\Util::needUpgrade(): the code is newer than the `version` in config.php.
	 * A code tree OLDER than the installed version is refused (downgrade), like upstream.
	 */
	public static function needUpgrade(): bool {
		if (!self::installed()) {
			return false;
		}
		$installed = (string)self::$config->get('version', '0.0.0');
		$code = self::versionDotted();
		if (version_compare($code, $installed, '<')) {
			throw new HintException(sprintf(
				'Downgrading is not supported and is likely to cause unpredictable issues (from %s to %s)',
				$installed, $code));
		}
		return version_compare($code, $installed, '>');
	}

	/** Upstream Updater::isUpgradePossible(): previous major or same major only. */
	public static function upgradePossible(string $from): bool {
		$parts = explode('.', $from);
		return isset(self::$canUpgradeFrom[$parts[0] . '.' . ($parts[1] ?? '0')]);
	}

	/**
	 * Upstream's memcache factory refuses a configured cache that is not available, e.g. the
	 * well-known "Memcache \OC\Memcache\APCu not available for local cache" of an occ run
	 * without `apc.enable_cli=1`.
	 */
	public static function checkCaches(): void {
		if (!self::installed()) {
			return;
		}
		$checks = [
			'memcache.local' => 'local cache', 'memcache.distributed' => 'distributed cache', 'memcache.locking' => 'locking cache',
		];
		foreach ($checks as $key => $what) {
			$class = ltrim((string)self::$config->get($key, ''), '\\');
			$ok = match ($class) {
				'' => true,
				'OC\\Memcache\\APCu' => extension_loaded('apcu') && ini_get('apc.enabled') && (PHP_SAPI !== 'cli' || ini_get('apc.enable_cli')),
				'OC\\Memcache\\Redis' => extension_loaded('redis'),
				default => false,
			};
			if (!$ok) {
				throw new HintException('Memcache \\' . $class . ' not available for ' . $what, 'Is the matching PHP module installed and enabled?');
			}
		}
	}

	/**
	 * Upstream OC_Util::checkServer(), the data directory part (lib/private/legacy/OC_Util.php):
	 * only when installed and no upgrade is pending. `checkDataDirectoryValidity` (absolute
	 * path, a file `.ncdata` in it; Nextcloud 32+ removes the legacy `.ocdata` and no longer
	 * accepts it), then `checkDataDirectoryWritable` (mkdir when missing) and
	 * `checkDataDirectoryPermissions` (chmod 0770 when others may read it).
	 * Stand-in difference: when `datadirectory` is not set at all, nothing is checked
	 * (upstream checks <server root>/data); `maintenance:install` always sets it.
	 *
	 * @return list<array{error: string, hint: string}>
	 */
	public static function checkServer(): array {
		if (!self::installed() || self::needUpgrade()) {
			return [];
		}
		$dataDir = self::$config->get('datadirectory');
		if (!is_string($dataDir) || $dataDir === '') {
			return [];
		}
		$docs = 'https://docs.nextcloud.com/server/' . self::$version[0] . '/go.php?to=admin-dir_permissions';
		$errors = [];
		if ($dataDir[0] !== '/') {
			$errors[] = ['error' => 'Your data directory must be an absolute path.',
				'hint' => 'Check the value of "datadirectory" in your configuration.'];
		}
		if (!file_exists($dataDir . '/.ncdata')) {
			$errors[] = ['error' => 'Your data directory is invalid.',
				'hint' => 'Ensure there is a file called ".ncdata" in the root of the data directory. It should have the content: "# Nextcloud data directory"'];
		}
		$exists = is_dir($dataDir);
		$writable = $exists && is_readable($dataDir) && is_writable($dataDir);
		if (!$exists) {
			$exists = @mkdir($dataDir);
			if (!$exists) {
				$errors[] = ['error' => 'Cannot create "data" directory.',
					'hint' => 'This can usually be fixed by giving the web server write access to the root directory. See ' . $docs];
			} else {
				$writable = is_readable($dataDir) && is_writable($dataDir);
			}
		} elseif (!$writable) {
			$file = sprintf('%s/%s.tmp', $dataDir, uniqid('data_dir_writability_test_'));
			$writable = @file_put_contents($file, 'Test write operation') !== false;
			if (!$writable) {
				$errors[] = ['error' => 'Your data directory is not writable.',
					'hint' => 'Permissions can usually be fixed by giving the web server write access to the root directory. See ' . $docs . '.'];
			} else {
				unlink($file);
			}
		}
		if ($exists && $writable && self::$config->getBool('check_data_directory_permissions', true)) {
			$perms = substr(decoct(@fileperms($dataDir)), -3);
			if (substr($perms, -1) !== '0') {
				@chmod($dataDir, 0770);
				clearstatcache();
				$perms = substr(decoct(@fileperms($dataDir)), -3);
				if ($perms[2] !== '0') {
					$errors[] = ['error' => 'Your data directory is readable by other people.',
						'hint' => 'Please change the permissions to 0770 so that the directory cannot be listed by other people.'];
				}
			}
		}
		return $errors;
	}

	/** Upstream Setup::install() and Updater::doUpgrade() write this file into the data directory. */
	public static function writeDataDirMarker(string $dataDir): void {
		file_put_contents($dataDir . '/.ncdata', "# Nextcloud data directory\n# Do not change this file");
	}

	public static function log(): Log {
		return self::$log ??= new Log(self::$config);
	}

	public static function db(): Db {
		return self::$db ??= Db::connect(self::$config);
	}

	public static function storage(): S3 {
		$store = self::$config->get('objectstore');
		if (!is_array($store) || ($store['class'] ?? '') !== '\\OC\\Files\\ObjectStore\\S3' && ($store['class'] ?? '') !== 'OC\\Files\\ObjectStore\\S3') {
			throw new \RuntimeException('stand-in: only S3 primary storage is implemented ("objectstore" with class \\OC\\Files\\ObjectStore\\S3)');
		}
		return S3::fromArguments($store['arguments'] ?? []);
	}

	public static function locking(): Locking {
		return new Locking(self::$config);
	}

	/** @var ?array the apps roots of this config (Apps::roots) */
	private static ?array $appsRoots = null;

	/** The apps roots (`apps_paths`, else <server root>/apps); a missing one is an error. */
	public static function appsRoots(): array {
		return self::$appsRoots ??= Apps::roots(self::$config, self::$root);
	}

	/** Every app of the apps roots: id => info.xml fields + path (Apps::all). */
	public static function apps(): array {
		return Apps::all(self::appsRoots());
	}

	/** core/shipped.json of this release: {shippedApps, alwaysEnabled, defaultEnabled}. */
	public static function shipped(): array {
		return Apps::shipped(self::$root);
	}
}
