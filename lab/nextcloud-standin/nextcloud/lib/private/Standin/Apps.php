<?php

declare(strict_types=1);

namespace Standin;

/**
 * Apps as upstream finds, checks and enables them (stand-in, Nuagerie tests). Pure functions
 * (no database) so that tests/unit can drive them with php-cli; Console does the I/O.
 *
 * - Apps roots (lib/base.php initPaths): the `apps_paths` entries {path, url, writable} of the
 *   config; without the key, <server root>/apps (writable). A configured path that is not a
 *   directory stops every occ run: 'App directory "<path>" not found! …'.
 * - An app is <root>/<id>/appinfo/info.xml; found in several roots, the highest version wins
 *   (lib/private/App/AppManager.php findAppInDirectories).
 * - Shipped, always-enabled and default-enabled apps: core/shipped.json of the release
 *   (AppManager::isShipped, getAlwaysEnabledApps, isDefaultEnabled).
 * - Compatibility: <dependencies><nextcloud min-version max-version/> of info.xml, compared on as
 *   many version parts as the bound has, so min=max="33" accepts every 33.x
 *   (AppManager::isAppCompatible, OC_App adjustVersionParts).
 */
final class Apps {
	/** lib/base.php initPaths(): the apps roots of this config. */
	public static function roots(Config $config, string $serverRoot): array {
		$configured = $config->get('apps_paths', []);
		$roots = [];
		if (is_array($configured) && $configured !== []) {
			foreach ($configured as $paths) {
				if (is_array($paths) && isset($paths['url'], $paths['path'])) {
					$paths['url'] = rtrim((string)$paths['url'], '/');
					$paths['path'] = rtrim((string)$paths['path'], '/');
					$roots[] = $paths;
				}
			}
		} elseif (file_exists($serverRoot . '/apps')) {
			$roots[] = ['path' => $serverRoot . '/apps', 'url' => '/apps', 'writable' => true];
		}
		if ($roots === []) {
			throw new \RuntimeException('apps directory not found! Please put the Nextcloud apps folder in the Nextcloud folder'
				. '. You can also configure the location in the config.php file.');
		}
		foreach ($roots as $root) {
			if (!is_dir($root['path'])) {
				throw new \RuntimeException(sprintf('App directory "%s" not found! Please put the Nextcloud apps folder in the'
					. ' Nextcloud folder. You can also configure the location in the config.php file.', $root['path']));
			}
		}
		return $roots;
	}

	/**
	 * The fields of appinfo/info.xml occ reads; null when the file cannot be read. Regular
	 * expressions, not SimpleXML: the stand-in also runs on a bare php-cli (tests/unit).
	 */
	public static function info(string $file): ?array {
		$xml = @file_get_contents($file);
		if ($xml === false || !preg_match('#<info\b#', $xml)) {
			return null;
		}
		$text = fn (string $tag) => preg_match('#<' . $tag . '>\s*([^<]*?)\s*</' . $tag . '>#', $xml, $m) ? html_entity_decode($m[1]) : '';
		$attr = fn (string $name) => preg_match('#<nextcloud\b[^>]*\b' . $name . '="([^"]*)"#', $xml, $m) ? trim($m[1]) : '';
		return [
			'id' => $text('id'),
			'name' => $text('name'),
			'version' => $text('version') ?: '0',
			'min' => $attr('min-version'),
			'max' => $attr('max-version'),
			// Upstream registers the classes of <commands><command> for enabled apps only.
			'commands' => preg_match_all('#<command>\s*([^<]+?)\s*</command>#', $xml, $m) ? $m[1] : [],
		];
	}

	/** Every app of every root: id => info + path (+ its root); the highest version wins. */
	public static function all(array $roots): array {
		$apps = [];
		foreach ($roots as $root) {
			foreach (glob($root['path'] . '/*/appinfo/info.xml') ?: [] as $file) {
				$dir = dirname($file, 2);
				$id = basename($dir);
				if ($id[0] === '.') {
					continue;
				}
				$info = self::info($file) ?? ['id' => '', 'name' => $id, 'version' => '0', 'min' => '', 'max' => '', 'commands' => []];
				$info += ['path' => $dir, 'root' => $root];
				if (!isset($apps[$id]) || version_compare($info['version'], $apps[$id]['version'], '>')) {
					$apps[$id] = $info;
				}
			}
		}
		ksort($apps);
		return $apps;
	}

	/** core/shipped.json: {shippedApps, alwaysEnabled, defaultEnabled}, each a list of ids. */
	public static function shipped(string $serverRoot): array {
		$data = json_decode((string)@file_get_contents($serverRoot . '/core/shipped.json'), true);
		$data = is_array($data) ? $data : [];
		return [
			'shippedApps' => (array)($data['shippedApps'] ?? []),
			'alwaysEnabled' => (array)($data['alwaysEnabled'] ?? []),
			'defaultEnabled' => (array)($data['defaultEnabled'] ?? []),
		];
	}

	/** OC_App::adjustVersionParts(): $version cut (or padded with 0) to the parts of $like. */
	public static function adjustVersionParts(string $version, string $like): string {
		$parts = explode('.', $version);
		$want = count(explode('.', $like));
		while (count($parts) > $want) {
			array_pop($parts);
		}
		while (count($parts) < $want) {
			$parts[] = '0';
		}
		return implode('.', $parts);
	}

	/** AppManager::isAppCompatible(): the server version within [min-version, max-version]. */
	public static function isCompatible(string $serverVersion, array $info, bool $ignoreMax = false): bool {
		$min = (string)($info['min'] ?? '');
		$max = (string)($info['max'] ?? '');
		if ($min !== '' && version_compare(self::adjustVersionParts($serverVersion, $min), $min, '<')) {
			return false;
		}
		if (!$ignoreMax && $max !== '' && version_compare(self::adjustVersionParts($serverVersion, $max), $max, '>')) {
			return false;
		}
		return true;
	}

	/**
	 * Why core/Command/App/Enable.php would refuse an app that is not enabled yet, as the line it
	 * prints (exit 1), or null. Not in any apps root: Installer::downloadApp() needs a writable
	 * root first ("No application directories are marked as writable.") and then the app store,
	 * which answers nothing with `appstoreenabled` false (AppFetcher). In a root: installApp()
	 * checks the info.xml id, then the version range (--force ignores max-version).
	 */
	public static function enableError(string $id, ?array $app, array $roots, string $serverVersion, bool $force): ?string {
		if ($app === null) {
			foreach ($roots as $root) {
				if (($root['writable'] ?? false) === true) {
					if (!is_writable($root['path']) || !is_readable($root['path'])) {
						return 'Cannot write into "apps" directory. This can usually be fixed by giving the web server write access'
							. ' to the apps directory or disabling the App Store in the config file.';
					}
					return sprintf('Could not download app %s, it was not found on the appstore', strtolower($id));
				}
			}
			return 'No application directories are marked as writable.';
		}
		if ($app['id'] !== $id) {
			return sprintf('App "%s" cannot be installed because appinfo file cannot be read.', $id);
		}
		if (!self::isCompatible($serverVersion, $app, $force)) {
			return sprintf('App "%s" cannot be installed because it is not compatible with this version of the server.', $app['name']);
		}
		return null;
	}

	/**
	 * Updater::checkAppsRequirements(): every enabled app whose info.xml is missing or does not
	 * accept the new server version is disabled when it is not shipped; a shipped one aborts the
	 * upgrade ("The files of the app … were not correctly replaced …").
	 *
	 * @param list<string> $enabled ids of the enabled apps
	 * @return array{disable: list<string>, error: ?string}
	 */
	public static function requirements(array $enabled, array $apps, array $shippedApps, string $serverVersion): array {
		$disable = [];
		foreach ($enabled as $id) {
			$app = $apps[$id] ?? null;
			if ($app === null || !self::isCompatible($serverVersion, $app)) {
				if (in_array($id, $shippedApps, true)) {
					return ['disable' => $disable,
						'error' => 'The files of the app "' . $id . '" were not correctly replaced before running the update'];
				}
				$disable[] = $id;
			}
		}
		return ['disable' => $disable, 'error' => null];
	}
}
